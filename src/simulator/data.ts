/**
 * The word lists the generator draws from. All people, schools and contact
 * details are fictional; the names are chosen to exercise what real data
 * holds: diacritics (Öztürk, Zoë, Anaïs, Çelik), tussenvoegsels ('t, in 't,
 * van der), apostrophes in place names ('s-Gravenhage) and school names.
 */

export interface GemeenteData {
  /** Woonplaatsen inside the gemeente with the postcode ranges (4 digits, inclusive) that cover them. */
  woonplaatsen: { naam: string; postcodes: [number, number] }[];
  /** Area code for landline numbers. */
  netnummer: string;
}

export const GEMEENTEN: Record<string, GemeenteData> = {
  '0344': {
    netnummer: '030',
    woonplaatsen: [
      { naam: 'Utrecht', postcodes: [3511, 3585] },
      { naam: 'De Meern', postcodes: [3453, 3454] },
      { naam: 'Vleuten', postcodes: [3451, 3452] },
    ],
  },
  '0363': { netnummer: '020', woonplaatsen: [{ naam: 'Amsterdam', postcodes: [1011, 1109] }] },
  '0599': {
    netnummer: '010',
    woonplaatsen: [
      { naam: 'Rotterdam', postcodes: [3011, 3089] },
      { naam: 'Hoek van Holland', postcodes: [3151, 3151] },
    ],
  },
  '0518': { netnummer: '070', woonplaatsen: [{ naam: "'s-Gravenhage", postcodes: [2491, 2597] }] },
  '0772': { netnummer: '040', woonplaatsen: [{ naam: 'Eindhoven', postcodes: [5611, 5658] }] },
  '0014': {
    netnummer: '050',
    woonplaatsen: [
      { naam: 'Groningen', postcodes: [9711, 9747] },
      { naam: 'Haren', postcodes: [9751, 9752] },
    ],
  },
};

/** For a gemeentecode not in the table: made-up place names with plausible postcodes. */
export const FALLBACK_GEMEENTE: GemeenteData = {
  netnummer: '0318',
  woonplaatsen: [
    { naam: 'Oosterwijk', postcodes: [3900, 3919] },
    { naam: 'Kerkdrecht', postcodes: [3920, 3929] },
    { naam: "'t Veld", postcodes: [3930, 3934] },
  ],
};

export const JONGENSNAMEN = [
  'Daan', 'Sem', 'Noah', 'Lucas', 'Milan', 'Levi', 'Mohammed', 'Yusuf', 'Bram', 'Thijs', 'Noë', 'Jesse',
  'Ömer', 'Emre', 'Jayden', 'Luuk', 'Finn', 'Mees', 'Teun', 'Anouar', 'Rayan', 'Ilias', 'Kaan', 'Joël',
  'Raphaël', 'Mats', 'Sven', 'Ruben', 'Jurriën', 'Adam', 'Gökhan', 'Stijn', 'Siem', 'Hamza', 'Tijn',
];

export const MEISJESNAMEN = [
  'Emma', 'Julia', 'Sanne', 'Zoë', 'Anaïs', 'Gülsen', 'Noor', 'Sara', 'Fenna', 'Lotte', 'Mila', 'Saar',
  'Yasmina', 'Fatima', 'Ayşe', 'Elif', 'Chloë', 'Iris', 'Lieke', 'Maëlle', 'Naomi', 'Inaya', 'Hiba',
  'Eline', 'Floor', 'Daphne', 'Renée', 'Ilse', 'Merel', 'Dunya', 'Nour', 'Isa', 'Jolijn',
];

export const TWEEDE_NAMEN_JONGENS = ['Jan', 'Hendrik', 'Willem', 'Cornelis', 'Johannes', 'Ali', 'Pieter', 'Mehmet', 'Gerrit'];
export const TWEEDE_NAMEN_MEISJES = ['Maria', 'Johanna', 'Elisabeth', 'Anna', 'Petronella', 'Sophie', 'Hatice', 'Wilhelmina'];

/** [voorvoegsel, geslachtsnaam]; an empty voorvoegsel means none. */
export const ACHTERNAMEN: readonly (readonly [string, string])[] = [
  ['', 'Öztürk'], ['', 'Çelik'], ['', 'Yılmaz'], ['', 'Şahin'], ['', 'Doğan'], ['', 'Aydın'], ['', 'Kaya'],
  ['van', 'Dijk'], ['van der', 'Berg'], ['van der', 'Linden'], ['de', 'Jong'], ['de', 'Vries'], ['de', 'Boer'],
  ["'t", 'Hart'], ["in 't", 'Veld'], ["in 't", 'Zandt'], ['van den', 'Heuvel'], ['van de', 'Wetering'],
  ['van', 'Beek'], ['de', 'Wit'], ['ter', 'Horst'], ['', 'Jansen'], ['', 'Bakker'], ['', 'Visser'],
  ['', 'Smit'], ['', 'Meijer'], ['', 'Mulder'], ['', 'Bos'], ['', 'Vos'], ['', 'Hendriks'], ['', 'Dekker'],
  ['', 'El Amrani'], ['', 'Bouzid'], ['', 'Benali'], ['', 'Nguyen'], ['', 'Pereira'], ['', 'Kowalski'],
  ['', 'Brouwer'], ['', 'Hoekstra'], ['', 'Postma'], ['', 'Sánchez'], ['', 'Ramdin'], ['', 'Kartosen-Wong'],
  ['', 'Lindström'], ['', 'Müller'], ['', 'Wouters'],
];

export const STRATEN = [
  'Oudegracht', 'Kerkstraat', 'Dorpsstraat', 'Julianalaan', 'Burgemeester Reigerstraat', 'Van Asch van Wijckstraat',
  'Twijnstraat', 'Amsterdamsestraatweg', 'Kanaalweg', 'Prins Hendriklaan', 'Vondellaan', 'Marnixlaan',
  'Laan van Nieuw-Guinea', "'t Goylaan", 'Griftstraat', 'Hoogstraat', 'Molenweg', 'Schoolstraat',
  'Zonnebloemstraat', 'Wilhelminapark', 'Händelstraat', 'Rembrandtkade', 'Sint Jacobsstraat', 'Jan van Galenstraat',
];

export const HUISNUMMERTOEVOEGINGEN = ['bis', '1', '2', '3', 'H', 'BS', 'II', 'A', 'rd'];

/** School name parts per sector. */
export const SCHOOLNAMEN = {
  PO: {
    prefixes: ['Basisschool', 'OBS', 'CBS', 'RKBS', 'Kindcentrum', 'IKC'],
    names: ['De Regenboog', 'Het Kompas', "'t Zonnetje", 'De Wegwijzer', 'De Fonkelsteen', 'De Klimop', 'Het Anker', 'De Zeven Zeeën', 'Over de Brug', 'De Ontdekking'],
  },
  SO: {
    prefixes: ['SO', 'SO/VSO', 'Mytylschool', 'School voor speciaal onderwijs'],
    names: ['De Brug', 'De Sterrenboog', 'Het Baken', 'De Wissel', 'Ithaka', "'t Kabouterhuis"],
  },
  VO: {
    prefixes: ['', 'Christelijk College', 'Stedelijk Lyceum', 'Montessori College', 'Scholengemeenschap'],
    names: ['Voorbeeldcollege', 'De Linie', 'Oostwijk', 'Het Nieuwe Lyceum', 'Sint-Maartens', 'Zuidrand', 'Hooghe Landt'],
  },
  MBO: {
    prefixes: ['ROC', 'MBO College', 'Techniek College', 'Zorgcollege'],
    names: ['Midden', 'Noord', 'Centraal', 'De Horst', 'Grafisch Lyceum', 'Rivierenland'],
  },
} as const;

export const FUNCTIES = {
  PO: ['Intern begeleider', 'Directeur', 'Leerkracht groep 7', 'Adjunct-directeur'],
  SO: ['Intern begeleider', 'Orthopedagoog', 'Directeur', 'Schoolmaatschappelijk werker'],
  VO: ['Verzuimcoördinator', 'Mentor', 'Teamleider', 'Zorgcoördinator', 'Administratief medewerker'],
  MBO: ['Studieloopbaanbegeleider', 'Verzuimmedewerker', 'Teamleider', 'Administratief medewerker'],
} as const;

export const REDENEN: Record<string, readonly string[]> = {
  ZESTIEN_UUR: [
    'Onbekend; ouders niet bereikbaar',
    'Vermoedelijk ziekte, niet gemeld door ouders',
    'Structureel te laat in het eerste uur',
    'Spijbelen, vooral bij de lessen lichamelijke opvoeding',
    'Problemen in de thuissituatie',
    'Verstoord slaapritme; komt moeilijk op gang',
    'Conflict met medeleerlingen',
  ],
  LANGDURIG_RELATIEF: [
    'Leerling zit thuis; reden onbekend',
    'Psychische klachten, nog geen hulpverlening',
    'Schoolweigering na een pestincident',
    'Langdurige ziekte zonder verklaring van een arts',
    'Gezin is onbereikbaar',
  ],
  LUXE: [
    'Vakantie buiten de schoolvakanties',
    'Eerder vertrokken naar familie in het buitenland',
    'Familiebezoek; verlof niet aangevraagd',
    'Wintersport in de week vóór de kerstvakantie',
    'Bruiloft in de familie; verlof aangevraagd maar afgewezen',
  ],
  DOORSTROOMPUNT_18PLUS: [
    'Niet meer op school verschenen; geen startkwalificatie',
    'Opleiding gestopt vanwege werk',
    'Student niet bereikbaar sinds het begin van de periode',
    'Financiële problemen; werkt fulltime',
  ],
  OVERIG: [
    'Regelmatig afwezig zonder geldige reden',
    'Veelvuldig te laat',
    'Verzuim na een schorsing',
    'Onduidelijke afwezigheid op vrijdagen',
  ],
};

export const TOELICHTINGEN = [
  'Leerling mist vooral de eerste twee uren op maandag en dinsdag.',
  'De mentor heeft drie keer contact gezocht met de ouders, zonder resultaat.',
  'Er is een gesprek geweest met leerling en ouder; de afspraken zijn niet nagekomen.',
  'Het zorgadviesteam is op de hoogte.',
  'De jeugdarts is ingeschakeld en heeft de leerling nog niet gezien.',
  'Ouders geven aan dat de leerling ziek was, maar er is geen ziekmelding ontvangen.',
  'Een broer op dezelfde school heeft ook verzuim.',
  'Leerling woont sinds kort bij een oom en tante.',
  'Ouders spreken beperkt Nederlands; graag een tolk inzetten bij het gesprek.',
  'Na de herfstvakantie is het verzuim toegenomen.',
];

export const AANVULLINGEN = [
  'Het verzuim houdt aan.',
  'Ouders hebben inmiddels gereageerd op de brief van school.',
  'Leerling is weer op school geweest, maar niet alle lessen.',
  'Er zijn meer uren verzuim geregistreerd sinds de melding.',
  'De mentor heeft een huisbezoek afgelegd.',
];

export const INTREKKINGSREDENEN = [
  'melding ten onrechte gedaan; het verlof was wel verleend.',
  'leerling blijkt ingeschreven op een andere school.',
  'afwezigheid alsnog gedekt door een verklaring van een arts.',
  'dubbele melding.',
];
