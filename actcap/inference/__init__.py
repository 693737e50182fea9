"""From a clip to an answer: the one inference path of the CLI, the service, the live stream and the export
bundle."""
