// Facts the tasks draw on: the 193 UN member states with their capitals, city names (those the training
// uses, and a separate list only the held-out check uses), weather conditions and tool descriptions.

/** [country as asked, capital]. One entry per UN member state (193). */
export const CAPITALS = [
  ["Afghanistan", "Kabul"], ["Albania", "Tirana"], ["Algeria", "Algiers"], ["Andorra", "Andorra la Vella"],
  ["Angola", "Luanda"], ["Antigua and Barbuda", "Saint John's"], ["Argentina", "Buenos Aires"], ["Armenia", "Yerevan"],
  ["Australia", "Canberra"], ["Austria", "Vienna"], ["Azerbaijan", "Baku"], ["the Bahamas", "Nassau"],
  ["Bahrain", "Manama"], ["Bangladesh", "Dhaka"], ["Barbados", "Bridgetown"], ["Belarus", "Minsk"],
  ["Belgium", "Brussels"], ["Belize", "Belmopan"], ["Benin", "Porto-Novo"], ["Bhutan", "Thimphu"],
  ["Bolivia", "Sucre"], ["Bosnia and Herzegovina", "Sarajevo"], ["Botswana", "Gaborone"], ["Brazil", "Brasília"],
  ["Brunei", "Bandar Seri Begawan"], ["Bulgaria", "Sofia"], ["Burkina Faso", "Ouagadougou"], ["Burundi", "Gitega"],
  ["Cabo Verde", "Praia"], ["Cambodia", "Phnom Penh"], ["Cameroon", "Yaoundé"], ["Canada", "Ottawa"],
  ["the Central African Republic", "Bangui"], ["Chad", "N'Djamena"], ["Chile", "Santiago"], ["China", "Beijing"],
  ["Colombia", "Bogotá"], ["the Comoros", "Moroni"], ["the Republic of the Congo", "Brazzaville"], ["Costa Rica", "San José"],
  ["Côte d'Ivoire", "Yamoussoukro"], ["Croatia", "Zagreb"], ["Cuba", "Havana"], ["Cyprus", "Nicosia"],
  ["Czechia", "Prague"], ["the Democratic Republic of the Congo", "Kinshasa"], ["Denmark", "Copenhagen"], ["Djibouti", "Djibouti"],
  ["Dominica", "Roseau"], ["the Dominican Republic", "Santo Domingo"], ["Ecuador", "Quito"], ["Egypt", "Cairo"],
  ["El Salvador", "San Salvador"], ["Equatorial Guinea", "Malabo"], ["Eritrea", "Asmara"], ["Estonia", "Tallinn"],
  ["Eswatini", "Mbabane"], ["Ethiopia", "Addis Ababa"], ["Fiji", "Suva"], ["Finland", "Helsinki"],
  ["France", "Paris"], ["Gabon", "Libreville"], ["the Gambia", "Banjul"], ["Georgia", "Tbilisi"],
  ["Germany", "Berlin"], ["Ghana", "Accra"], ["Greece", "Athens"], ["Grenada", "Saint George's"],
  ["Guatemala", "Guatemala City"], ["Guinea", "Conakry"], ["Guinea-Bissau", "Bissau"], ["Guyana", "Georgetown"],
  ["Haiti", "Port-au-Prince"], ["Honduras", "Tegucigalpa"], ["Hungary", "Budapest"], ["Iceland", "Reykjavik"],
  ["India", "New Delhi"], ["Indonesia", "Jakarta"], ["Iran", "Tehran"], ["Iraq", "Baghdad"],
  ["Ireland", "Dublin"], ["Israel", "Jerusalem"], ["Italy", "Rome"], ["Jamaica", "Kingston"],
  ["Japan", "Tokyo"], ["Jordan", "Amman"], ["Kazakhstan", "Astana"], ["Kenya", "Nairobi"],
  ["Kiribati", "Tarawa"], ["Kuwait", "Kuwait City"], ["Kyrgyzstan", "Bishkek"], ["Laos", "Vientiane"],
  ["Latvia", "Riga"], ["Lebanon", "Beirut"], ["Lesotho", "Maseru"], ["Liberia", "Monrovia"],
  ["Libya", "Tripoli"], ["Liechtenstein", "Vaduz"], ["Lithuania", "Vilnius"], ["Luxembourg", "Luxembourg"],
  ["Madagascar", "Antananarivo"], ["Malawi", "Lilongwe"], ["Malaysia", "Kuala Lumpur"], ["the Maldives", "Malé"],
  ["Mali", "Bamako"], ["Malta", "Valletta"], ["the Marshall Islands", "Majuro"], ["Mauritania", "Nouakchott"],
  ["Mauritius", "Port Louis"], ["Mexico", "Mexico City"], ["Micronesia", "Palikir"], ["Moldova", "Chisinau"],
  ["Monaco", "Monaco"], ["Mongolia", "Ulaanbaatar"], ["Montenegro", "Podgorica"], ["Morocco", "Rabat"],
  ["Mozambique", "Maputo"], ["Myanmar", "Naypyidaw"], ["Namibia", "Windhoek"], ["Nauru", "Yaren"],
  ["Nepal", "Kathmandu"], ["the Netherlands", "Amsterdam"], ["New Zealand", "Wellington"], ["Nicaragua", "Managua"],
  ["Niger", "Niamey"], ["Nigeria", "Abuja"], ["North Korea", "Pyongyang"], ["North Macedonia", "Skopje"],
  ["Norway", "Oslo"], ["Oman", "Muscat"], ["Pakistan", "Islamabad"], ["Palau", "Ngerulmud"],
  ["Panama", "Panama City"], ["Papua New Guinea", "Port Moresby"], ["Paraguay", "Asunción"], ["Peru", "Lima"],
  ["the Philippines", "Manila"], ["Poland", "Warsaw"], ["Portugal", "Lisbon"], ["Qatar", "Doha"],
  ["Romania", "Bucharest"], ["Russia", "Moscow"], ["Rwanda", "Kigali"], ["Saint Kitts and Nevis", "Basseterre"],
  ["Saint Lucia", "Castries"], ["Saint Vincent and the Grenadines", "Kingstown"], ["Samoa", "Apia"], ["San Marino", "San Marino"],
  ["Sao Tome and Principe", "São Tomé"], ["Saudi Arabia", "Riyadh"], ["Senegal", "Dakar"], ["Serbia", "Belgrade"],
  ["Seychelles", "Victoria"], ["Sierra Leone", "Freetown"], ["Singapore", "Singapore"], ["Slovakia", "Bratislava"],
  ["Slovenia", "Ljubljana"], ["the Solomon Islands", "Honiara"], ["Somalia", "Mogadishu"], ["South Africa", "Pretoria"],
  ["South Korea", "Seoul"], ["South Sudan", "Juba"], ["Spain", "Madrid"], ["Sri Lanka", "Sri Jayawardenepura Kotte"],
  ["Sudan", "Khartoum"], ["Suriname", "Paramaribo"], ["Sweden", "Stockholm"], ["Switzerland", "Bern"],
  ["Syria", "Damascus"], ["Tajikistan", "Dushanbe"], ["Tanzania", "Dodoma"], ["Thailand", "Bangkok"],
  ["Timor-Leste", "Dili"], ["Togo", "Lomé"], ["Tonga", "Nuku'alofa"], ["Trinidad and Tobago", "Port of Spain"],
  ["Tunisia", "Tunis"], ["Turkey", "Ankara"], ["Turkmenistan", "Ashgabat"], ["Tuvalu", "Funafuti"],
  ["Uganda", "Kampala"], ["Ukraine", "Kyiv"], ["the United Arab Emirates", "Abu Dhabi"], ["the United Kingdom", "London"],
  ["the United States", "Washington, D.C."], ["Uruguay", "Montevideo"], ["Uzbekistan", "Tashkent"], ["Vanuatu", "Port Vila"],
  ["Venezuela", "Caracas"], ["Vietnam", "Hanoi"], ["Yemen", "Sanaa"], ["Zambia", "Lusaka"],
  ["Zimbabwe", "Harare"],
];

/** Cities (besides the capitals) the weather questions of the training name. */
export const TRAIN_CITIES = [
  "New York", "Los Angeles", "Chicago", "Houston", "San Francisco", "Seattle", "Boston", "Miami", "Denver", "Atlanta",
  "Toronto", "Vancouver", "Montreal", "Sydney", "Melbourne", "Perth", "Auckland", "Shanghai", "Hong Kong", "Mumbai",
  "Bangalore", "Chennai", "Kolkata", "Karachi", "Lahore", "Istanbul", "Barcelona", "Milan", "Munich", "Hamburg",
  "Frankfurt", "Zurich", "Geneva", "Lyon", "Marseille", "Manchester", "Edinburgh", "Glasgow", "Rotterdam", "Antwerp",
  "Krakow", "Gdansk", "St. Petersburg", "Novosibirsk", "Osaka", "Kyoto", "Busan", "Ho Chi Minh City", "Rio de Janeiro", "Sao Paulo",
  "Cape Town", "Johannesburg", "Casablanca", "Marrakesh", "Alexandria", "Lagos", "Durban", "Dubai", "Tel Aviv", "Jeddah",
  "Chiang Mai", "Cebu", "Surabaya", "Bandung", "Guadalajara", "Monterrey", "Medellin", "Valparaiso", "Cordoba", "Porto",
  "Seville", "Valencia", "Naples", "Florence", "Venice", "Salzburg", "Bergen", "Gothenburg", "Tampere", "Aarhus",
  "Las Vegas", "New Orleans", "Salt Lake City", "Kansas City", "Baton Rouge", "Santa Fe", "El Paso", "San Diego", "Quebec City", "Halifax",
];

/** Cities only the held-out check asks about (never in the training data as a city). */
export const HELDOUT_CITIES = [
  "Philadelphia", "Phoenix", "Dallas", "Portland", "Nashville", "Calgary", "Ottawa Valley", "Brisbane", "Adelaide", "Christchurch",
  "Wuhan", "Chengdu", "Hyderabad", "Pune", "Ahmedabad", "Izmir", "Bilbao", "Turin", "Bologna", "Stuttgart",
  "Cologne", "Lausanne", "Nice", "Bordeaux", "Liverpool", "Leeds", "Utrecht", "Ghent", "Wroclaw", "Brno",
  "Kazan", "Sapporo", "Nagoya", "Incheon", "Da Nang", "Belo Horizonte", "Port Elizabeth", "Fez", "Mombasa", "Abidjan",
  "Doha Bay", "Haifa", "Mecca", "Penang", "Davao", "Puebla", "Tijuana", "Cali", "Rosario", "Coimbra",
  "Malaga", "Palermo", "Innsbruck", "Trondheim", "Malmo", "Turku", "Odense", "San Antonio", "Palm Springs", "Santa Barbara",
];

export const CONDITIONS = [
  "sunny", "clear", "partly cloudy", "cloudy", "overcast", "light rain", "rain", "heavy rain", "showers", "thunderstorms",
  "drizzle", "fog", "mist", "snow", "light snow", "sleet", "hail", "windy", "humid", "hazy",
];

export const WEATHER_DESCRIPTIONS = [
  "Get the current weather for a city.",
  "Returns the current weather in a given city.",
  "Look up today's weather.",
  "Fetches current weather conditions (temperature in Celsius and a short description) for the named city.",
  "Weather lookup by city name.",
  "Get the weather forecast for a location.",
  "Gets current temperature and conditions.",
  "",
];

export const CITY_DESCRIPTIONS = ["The city name, e.g. Paris", "City to look up", "Name of the city", undefined];

/** Other function tools declared beside get_weather. */
export const OTHER_TOOLS = [
  { name: "get_time", description: "Get the current local time in a timezone.", parameters: { type: "object", properties: { timezone: { type: "string" } }, required: ["timezone"] } },
  { name: "search_web", description: "Search the web and return the top results.", parameters: { type: "object", properties: { query: { type: "string" }, max_results: { type: "integer" } }, required: ["query"] } },
  { name: "convert_currency", description: "Convert an amount between currencies.", parameters: { type: "object", properties: { amount: { type: "number" }, from: { type: "string" }, to: { type: "string" } }, required: ["amount", "from", "to"] } },
  { name: "send_email", description: "Send an email.", parameters: { type: "object", properties: { to: { type: "string" }, subject: { type: "string" }, body: { type: "string" } }, required: ["to", "body"] } },
  { name: "get_stock_price", description: "Latest price of a stock ticker.", parameters: { type: "object", properties: { ticker: { type: "string" } }, required: ["ticker"] } },
  { name: "roll_dice", description: "Roll dice.", parameters: { type: "object", properties: { sides: { type: "integer" } } } },
];

export const INSTRUCTIONS = ["You are a helpful assistant.", "Answer briefly.", "You are a concise assistant that uses tools when they help."];
