"""The IPTC Media Topics top level (17 classes, https://cv.iptc.org/newscodes/mediatopic/), with
their official English labels and codes, and the seed vocabulary newsflow's classifier matches.

A seed ending in ``*`` matches every word that starts with it (``negotiat*``: negotiate,
negotiations, negotiator). Words are matched after lower-casing and plural folding. Edit these
lists to tune the classifier; a test checks that every class keeps a vocabulary.
"""

from __future__ import annotations

#: (IPTC code, official English label, seed vocabulary)
MEDIA_TOPICS: list[tuple[str, str, str]] = [
    ("medtop:01000000", "arts, culture, entertainment and media",
     "art artist artwork museum galler* exhibition film movie cinema actor actress director festival music "
     "musician song album concert band singer theatre theater play opera ballet dance novel author book "
     "literature poet* poetry painting sculpture television tv series broadcast* streaming netflix media "
     "newspaper journalis* magazine celebrit* hollywood oscar* grammy award* culture cultural heritage "
     "fashion design* comedy comedian premiere box-office"),
    ("medtop:16000000", "conflict, war and peace",
     "war wars warfare conflict* peace peaceful ceasefire truce armistice military militar* army troop* soldier* "
     "armed weapon* missile* drone* airstrike* strike* bomb* bombing shelling artillery tank* invasion invade* "
     "occupation occupied front frontline offensive counteroffensive battle* combat fighting fighter* "
     "attack* insurgen* rebel* militia* terror* terrorist* hostage* casualt* killed civilian* refugee* "
     "nato defence defense pentagon negotiat* settlement escalat* de-escalat* annex* sanction* "
     "deploy* deterren* nuclear arms security border* genocide massacre"),
    ("medtop:02000000", "crime, law and justice",
     "crime criminal* police policeman policemen policing arrest* arrested charge* charged court* judge* "
     "jury trial* prosecut* "
     "lawyer* attorney* lawsuit* sue* sued convict* conviction sentence* sentenced prison* jail* "
     "murder* homicide theft robbery fraud* corruption brib* smuggl* traffick* investigat* detective "
     "suspect* verdict guilty innocent appeal* supreme justice legal illegal* law laws lawmaker* "
     "regulat* ruling ruled indict* felony misdemeanor cybercrime gang* cartel* drug*"),
    ("medtop:03000000", "disaster, accident and emergency incident",
     "disaster* earthquake* quake* tsunami* flood* flooding hurricane* typhoon* cyclone* tornado* wildfire* "
     "fire fires firefighter* blaze* explosion* blast* crash* collision* derail* accident* emergenc* rescue* rescuer* "
     "evacuat* victim* injured injur* dead death* toll casualt* survivor* collapse* landslide* avalanche* "
     "volcano* eruption drought famine outage* blackout* spill* leak* heatstroke heatwave"),
    ("medtop:04000000", "economy, business and finance",
     "econom* business* market* stock* share* shares investor* invest* bank* banking finance* financial "
     "inflation interest rate* gdp growth recession trade trading export* import* tariff* company "
     "companies corporat* firm* industr* manufactur* factor* profit* revenue* earnings sales price* "
     "cost* costing consumer* retail* supply chain* shipping port ports cargo container* logistic* currenc* "
     "euro euros eurozone dollar* yen budget* debt* tax* oil gas energy power electricity commodit* semiconductor* "
     "chip* chipmaking equipment merger* acquisition* startup* ceo* shareholder* analyst* economist* "
     "billion million demand"),
    ("medtop:05000000", "education",
     "education* educational school* pupil* student* teacher* teaching university universit* college* "
     "campus* classroom* curriculum exam* examination* degree* graduate* tuition scholarship* academic* "
     "professor* lecture* kindergarten literacy learning enrol* enroll*"),
    ("medtop:06000000", "environment",
     "environment* climate emission* carbon co2 greenhouse warming pollut* ecolog* biodiversity species "
     "wildlife forest* deforest* conservation* renewable* solar wind recycl* plastic* waste sustainab* "
     "temperature* heatwave* glacier* ocean* sea-level fossil net-zero environmentalist* habitat* "
     "endangered extinction drought weather-related"),
    ("medtop:07000000", "health",
     "health* hospital* patient* doctor* nurse* medic* medicine* drug* vaccine* vaccinat* virus* viral "
     "disease* illness* infect* epidemic* pandemic* covid outbreak* cancer* diabetes treatment* therap* "
     "clinic* surger* mental obesity nutrition* heatstroke symptom* diagnos* pharmac* healthcare "
     "ward* mortality"),
    ("medtop:08000000", "human interest",
     "anniversary birthday celebrat* wedding romance pet* animal* zoo quirky oddity record-breaking "
     "centenarian hero heroic rescue* reunion reunited charity* volunteer* kindness inspiring "
     "royal* princess prince"),
    ("medtop:09000000", "labour",
     "labour labor worker* workforce employ* employment unemploy* job* jobless wage* salar* pay union* "
     "unionis* strike* striking walkout* stoppage* picket* dock docker* industrial-action bargaining "
     "collective redundanc* layoff* laid-off pension* retire* workplace overtime minimum-wage "
     "negotiator* fnv"),
    ("medtop:10000000", "lifestyle and leisure",
     "lifestyle leisure travel* tourism tourist* holiday* vacation* hotel* restaurant* food cuisine chef* "
     "recipe* wine beer cooking gardening garden* hobby hobbies shopping fitness wellness diet* "
     "gaming outdoor* camping"),
    ("medtop:11000000", "politics",
     "politic* political politician* government* minister* ministry president* presidential prime "
     "parliament* congress* senate* senator* lawmaker* legislat* election* elect* vote* voter* voting "
     "ballot* campaign* party parties opposition coalition diplomat* diplomacy diplomatic foreign "
     "summit* talks treaty treaties policy policies administration kremlin white-house cabinet "
     "referendum democra* authoritarian regime* sovereignty spokesman spokeswoman spokesperson "
     "secretary chancellor embassy ambassador* envoy* bilateral multilateral"),
    ("medtop:12000000", "religion",
     "religio* church* mosque* temple* synagogue* pope vatican bishop* priest* imam* rabbi* faith "
     "christian* muslim* islam* jewish judaism hindu* buddhis* catholic* protestant* pilgrim* prayer* "
     "worship* clergy sermon easter christmas ramadan"),
    ("medtop:13000000", "science and technology",
     "scien* research* researcher* study studies experiment* laborator* technolog* tech digital software "
     "hardware computer* internet online cyber* ai artificial intelligence robot* semiconductor* chip* "
     "chipmaking lithography etching engineer* innovation* space nasa satellite* rocket* telescope "
     "physic* chemi* biolog* genetic* dna quantum data algorithm* smartphone* device*"),
    ("medtop:14000000", "society",
     "society social communit* famil* children child youth elderly poverty homeless* housing "
     "inequality discrimination racism gender women woman migrant* migration immigra* population "
     "demograph* welfare protest* activist* rights human-rights minorit* citizen* households"),
    ("medtop:15000000", "sport",
     "sport* football soccer basketball baseball tennis golf cricket rugby hockey athlet* olympic* "
     "championship* tournament* league* match* goal* scored score* coach* player* team* club* "
     "stadium* fifa uefa bundesliga premier medal* race racing cyclist* marathon fixture* striker "
     "midfielder* defender* goalkeeper* halbzeit spiel* mannschaft trainer tor "
     "win wins won winner* title* champion* premiership prix game games"),
    ("medtop:17000000", "weather",
     "weather forecast* meteorolog* rain rainfall storm* snow* heatwave* temperature* celsius fahrenheit "
     "degree* humid* monsoon* frost* sunny cloud* wind* gust* thunder* drought heat cold freezing "
     "hurricane* typhoon* cyclone* hot heat"),
]
