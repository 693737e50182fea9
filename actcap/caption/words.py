"""The word lists behind derived captions (grammar.py): the verbs a label's first word may be, and the words
that decide articles.

A label is a name the user chose, often a noun or an interjection ("hello", "applause", "thumbs up"), and no
suffix rule tells "wave" (a verb) from "hello" (not one): "A person is helloing." is what guessing gives. So
grammar.derive_phrase conjugates a first word only when it is listed here (or already an -ing form), and says
"A person is doing 'hello'." otherwise. The list is everyday physical actions, gestures and the verbs of
HMDB51, UCF101 and Kinetics labels, in base form; add to it rather than guess.
"""

from __future__ import annotations

VERBS = frozenset("""
accept add adjust aim answer applaud apply approach arch argue arrange ask assemble attack bake balance bang bark
bat bathe beat beckon become beg begin bend bite blink block blow board bob boil bounce bow bowl box brace braid
brake break breathe brew bring brush bump bungee burn burp buy call calm camp canoe carry carve cartwheel cast catch
celebrate change charge chase chat check cheer chew chop circle clap clean clear climb clip close coach collect
comb come cook copy cough count cover crack crank crawl crochet cross crouch crush cry curl curtsy cut cycle dab
dance dart deal decorate dig dip dive do dodge drag draw dress dribble drill drink drive drop drum duck dunk dust
eat embrace enter erase exercise exit explain extend fall fan feed feel fence fetch fight file fill find fish
fist fix flap flex flick flip float flop fly fold follow fry gallop gargle gather gesture get give glide go golf
grab greet grill grind grip groom guard hammer hand handstand hang have head heal hear help hide high-five hike
hit hitchhike hold hop hug hula hum hunt hurdle iron jab jiggle jog join joke jump juggle kayak kick kiss kneel
knit knock land laugh launch lean leap lick lie lift light listen load lock look lose lower lunge make march
massage measure meditate mime mix mop motion mount move mow nod offer open pack paddle paint pan panic pant parachute
park pass pat pause pedal peel perform pet phone photograph pick pinch pitch place plant play plead plough plow
plug point poke polish pose pour pray press print pull pump punch push put putt quit race raise rake reach read
relax release repair rest return ride ring rinse rip rise roar rock roll row rub run sail salute sand saw say
scoop scratch scream scrub search see sell send serve set sew shake shave shift shine shoot shout shovel show
shower shrug shuffle shut sign sing sip sit skate sketch ski skip skydive slap sled sleep slide slice slip smell
smile smoke snap sneeze sniff snowboard soar solve sort spin spit splash spray spread sprint squat squeeze stab
stack stamp stand stare start step stick stir stomp stop stretch strike stroke strum study surf swallow sway
sweep swim swing swipe swirl tackle take talk tap taste teach tear tell text thank think throw tickle tie tilt
tip toss touch trace train trim trip tug tumble turn twirl twist type uncork undress unfold unlock unpack use
vacuum vault visit wait wake walk wash watch water wave wax weave weigh whip whisper whistle wiggle win wink
wipe wobble work wrap wrestle write yawn yell zip
""".split())

PARTICLES = frozenset(
    "about across after against along around at away back backward backwards before behind between by down "
    "for forward forwards from in into off on onto out outside over past through to together toward towards "
    "under up upon with within without".split())
DETERMINERS = frozenset(
    "a an the this that these those my your his her its our their some any no every each another both all "
    "one two three four five six seven eight nine ten someone something somebody anything everything "
    "it them him me us you himself herself themselves myself yourself oneself".split())
ADVERBS = frozenset(
    "again alone apart around away fast hard high low far still straight sideways upstairs downstairs "
    "outdoors indoors inside outside home here there left right quickly slowly quietly loudly gently "
    "backwards forwards forward backward down up".split())
MASS_NOUNS = frozenset(
    "hair water food makeup lipstick mascara music money bread rice soup coffee tea milk juice wine beer "
    "paper ice snow sand grass gum laundry homework housework furniture luggage equipment weight weights "
    "golf tennis soccer football basketball baseball volleyball hockey cricket rugby chess yoga karate judo "
    "boxing taichi cardio traffic rope".split())
IRREGULAR_PLURALS = frozenset("teeth feet people children men women mice geese clothes".split())
LY_NOUNS = frozenset("family assembly supply reply belly jelly rally bully lily ally fly".split())
INTERJECTIONS = frozenset("hello hi hey goodbye bye farewell yes ok okay thanks please sorry".split())
"""Words that often follow a verb in a label and take no article: "waving hello", not "waving a hello"."""


def is_verb(word: str) -> bool:
    """True for a listed verb in base form (any case)."""
    return word.lower() in VERBS
