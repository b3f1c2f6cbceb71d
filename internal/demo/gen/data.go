package gen

// Embedded word lists. Every name here is fictional or a common given name
// or surname; company names are invented and live under the reserved
// ".example" top-level domain (RFC 2606), people's private addresses under
// example.com/.org/.net, and phone numbers in the NANP fictional range
// 555-0100..555-0199.

// culture is a set of given names and surnames that belong together.
type culture struct {
	name   string
	weight int
	first  []string
	last   []string
}

var cultures = []culture{
	{"german", 8,
		[]string{"Lukas", "Anna", "Jonas", "Lea", "Felix", "Marie", "Maximilian", "Sophie", "Paul", "Hannah", "Jürgen", "Katharina"},
		[]string{"Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Wagner", "Becker", "Hoffmann", "Schäfer", "Koch", "Richter", "Wolf"}},
	{"british-irish", 8,
		[]string{"Oliver", "Amelia", "Harry", "Isla", "George", "Emily", "Jack", "Olivia", "Siobhan", "Callum", "Niamh", "Rhys"},
		[]string{"Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Evans", "Thomas", "O'Brien", "Murphy", "Walsh", "Hughes"}},
	{"american", 6,
		[]string{"Ethan", "Madison", "Tyler", "Ashley", "Brandon", "Jessica", "Jordan", "Kayla", "Marcus", "Brianna"},
		[]string{"Johnson", "Miller", "Davis", "Anderson", "Jackson", "Harris", "Martin", "Thompson", "Robinson", "Clark"}},
	{"dutch", 5,
		[]string{"Daan", "Sanne", "Bram", "Fleur", "Sem", "Lotte", "Thijs", "Femke", "Joris", "Eline"},
		[]string{"de Vries", "Jansen", "van den Berg", "Bakker", "Visser", "Smit", "Meijer", "de Boer", "Mulder", "Bos"}},
	{"french", 6,
		[]string{"Louis", "Camille", "Hugo", "Léa", "Théo", "Chloé", "Mathieu", "Manon", "Antoine", "Inès"},
		[]string{"Bernard", "Dubois", "Petit", "Durand", "Leroy", "Moreau", "Lefèvre", "Girard", "Rousseau", "Fournier"}},
	{"portuguese-brazilian", 5,
		[]string{"João", "Beatriz", "Tiago", "Inês", "Rafael", "Mariana", "Gonçalo", "Ana", "Lucas", "Larissa"},
		[]string{"Silva", "Santos", "Ferreira", "Pereira", "Oliveira", "Costa", "Rodrigues", "Almeida", "Carvalho", "Sousa"}},
	{"polish", 5,
		[]string{"Jakub", "Zofia", "Łukasz", "Agnieszka", "Piotr", "Katarzyna", "Mateusz", "Magdalena", "Tomasz", "Małgorzata"},
		[]string{"Nowak", "Kowalski", "Wiśniewski", "Wójcik", "Kowalczyk", "Kamiński", "Lewandowski", "Zieliński", "Szymański", "Woźniak"}},
	{"spanish-latam", 6,
		[]string{"Alejandro", "Lucía", "Javier", "Sofía", "Diego", "Valentina", "Pablo", "Carmen", "Mateo", "Isabella", "José"},
		[]string{"García", "Fernández", "López", "Martínez", "Sánchez", "Pérez", "Gómez", "Ramírez", "Torres", "Flores", "Hernández"}},
	{"italian", 4,
		[]string{"Giulia", "Alessandro", "Francesca", "Lorenzo", "Chiara", "Matteo", "Sara", "Davide", "Federica", "Riccardo"},
		[]string{"Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci", "Marino", "Greco"}},
	{"west-african", 4,
		[]string{"Chinedu", "Adaeze", "Oluwaseun", "Ngozi", "Emeka", "Funmilayo", "Kwame", "Ama", "Kofi", "Abena", "Tunde", "Yewande"},
		[]string{"Okafor", "Adeyemi", "Okonkwo", "Balogun", "Eze", "Nwosu", "Mensah", "Boateng", "Owusu", "Asante", "Adebayo", "Obi"}},
	{"east-african", 2,
		[]string{"Wanjiru", "Kamau", "Achieng", "Otieno", "Njeri", "Mwangi", "Amani", "Zawadi"},
		[]string{"Odhiambo", "Kiprop", "Wambui", "Mutua", "Njoroge", "Chebet", "Kariuki", "Ochieng"}},
	{"indian", 7,
		[]string{"Aarav", "Priya", "Rohan", "Ananya", "Vikram", "Divya", "Arjun", "Kavya", "Sanjay", "Meera", "Rahul", "Lakshmi"},
		[]string{"Sharma", "Patel", "Iyer", "Reddy", "Gupta", "Nair", "Singh", "Mehta", "Krishnan", "Banerjee", "Rao", "Desai"}},
	{"chinese", 5,
		[]string{"Wei", "Jing", "Hao", "Xiaoling", "Yifan", "Mei", "Jun", "Lin", "Zihan", "Yuxin"},
		[]string{"Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou"}},
	{"japanese", 3,
		[]string{"Haruto", "Yui", "Sota", "Aoi", "Ren", "Sakura", "Takumi", "Hina", "Kenji", "Yuki"},
		[]string{"Sato", "Suzuki", "Takahashi", "Tanaka", "Watanabe", "Ito", "Yamamoto", "Nakamura", "Kobayashi", "Kato"}},
	{"korean", 2,
		[]string{"Min-jun", "Seo-yeon", "Ji-ho", "Ha-eun", "Do-yun", "Soo-ah", "Joon-young", "Ji-woo"},
		[]string{"Kim", "Lee", "Park", "Choi", "Jung", "Kang", "Cho", "Yoon"}},
	{"vietnamese", 2,
		[]string{"Minh", "Linh", "Huy", "Trang", "Duc", "Thao", "Khoa", "Ngoc"},
		[]string{"Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi"}},
	{"arabic", 4,
		[]string{"Omar", "Layla", "Youssef", "Fatima", "Karim", "Nour", "Hassan", "Amira", "Tariq", "Yasmin"},
		[]string{"Haddad", "Khalil", "Mansour", "Nasser", "Saleh", "Hamdan", "Aziz", "Farouk", "El-Amin", "Khoury"}},
	{"turkish", 4,
		[]string{"Emre", "Elif", "Burak", "Zeynep", "Can", "Ayşe", "Mehmet", "Selin", "Deniz", "Ece"},
		[]string{"Yılmaz", "Kaya", "Demir", "Şahin", "Çelik", "Yıldız", "Aydın", "Öztürk", "Arslan", "Doğan"}},
	{"persian", 2,
		[]string{"Arash", "Shirin", "Dariush", "Parisa", "Kian", "Nasrin", "Reza", "Leila"},
		[]string{"Hosseini", "Rahimi", "Karimi", "Moradi", "Jafari", "Tehrani", "Sadeghi", "Ahmadi"}},
	{"nordic", 4,
		[]string{"Erik", "Ingrid", "Lars", "Astrid", "Mikkel", "Freja", "Johan", "Sigrid", "Anders", "Maja", "Björn", "Linnea"},
		[]string{"Andersson", "Johansson", "Nilsson", "Eriksson", "Larsen", "Hansen", "Lindqvist", "Berg", "Halvorsen", "Nyström"}},
	{"greek", 2,
		[]string{"Nikos", "Eleni", "Giorgos", "Katerina", "Dimitris", "Sofia", "Yannis", "Maria"},
		[]string{"Papadopoulos", "Georgiou", "Nikolaidis", "Vlachos", "Konstantinou", "Dimitriou", "Pappas", "Oikonomou"}},
	{"ukrainian", 3,
		[]string{"Oleksandr", "Olena", "Andriy", "Iryna", "Dmytro", "Nataliya", "Taras", "Yulia"},
		[]string{"Shevchenko", "Bondarenko", "Kovalenko", "Tkachenko", "Melnyk", "Kravchenko", "Boyko", "Lysenko"}},
	{"filipino", 2,
		[]string{"Angelo", "Maricel", "Paolo", "Kristine", "Rommel", "Jasmine"},
		[]string{"Reyes", "Cruz", "Bautista", "Ocampo", "Villanueva", "Mendoza", "Aquino", "Dela Cruz"}},
}

// foldMap turns the lower-case non-ASCII letters of the name lists into
// ASCII for e-mail local parts (names keep their spelling).
var foldMap = map[rune]string{
	'ä': "a", 'á': "a", 'à': "a", 'â': "a", 'ã': "a", 'å': "a", 'ą': "a", 'ạ': "a", 'ầ': "a", 'ặ': "a",
	'æ': "ae", 'ç': "c", 'ć': "c", 'đ': "d",
	'é': "e", 'è': "e", 'ê': "e", 'ë': "e", 'ę': "e", 'ễ': "e",
	'í': "i", 'ì': "i", 'î': "i", 'ï': "i", 'ı': "i",
	'ł': "l", 'ñ': "n", 'ń': "n",
	'ó': "o", 'ò': "o", 'ô': "o", 'õ': "o", 'ö': "o", 'ø': "o",
	'ß': "ss", 'ś': "s", 'ş': "s", 'ğ': "g",
	'ú': "u", 'ù': "u", 'û': "u", 'ü': "u", 'ũ': "u",
	'ź': "z", 'ż': "z",
}

// level is a seniority step; titles get the family's prefix for it.
const (
	levelJunior = iota
	levelMid
	levelSenior
	levelLead
	levelPrincipal
	numLevels
)

var levelWeights = []int{15, 33, 30, 15, 7}

// yearsByLevel is the typical experience shown in headlines.
var yearsByLevel = [numLevels]int{1, 3, 6, 9, 12}

// title is a job title with the skills it always implies (a subset of the
// family's cluster).
type title struct {
	name string
	core []string
}

// family is a role family: titles, a coherent skill cluster, seniority
// prefixes, salary bands and who hires for it.
type family struct {
	name     string
	weight   int // share of candidates
	prefixes [numLevels]string
	titles   []title
	skills   []string // the cluster; every generated skill comes from here
	// baseK is the yearly base salary midpoint by level, in thousands of
	// EUR for a city of cost factor 1.0 (Berlin).
	baseK    [numLevels]int64
	managers []string // hiring-manager titles on the client side
	duties   []string // job description fragments
}

var families = []family{
	{
		name: "backend", weight: 22,
		prefixes: [numLevels]string{"Junior", "", "Senior", "Staff", "Principal"},
		titles: []title{
			{"Backend Engineer", []string{"REST APIs"}},
			{"Go Engineer", []string{"Go"}},
			{"Rust Engineer", []string{"Rust"}},
			{"Java Developer", []string{"Java", "Spring Boot"}},
			{"Python Developer", []string{"Python", "Django"}},
			{"Platform Engineer", []string{"Kubernetes", "Terraform"}},
			{"Site Reliability Engineer", []string{"Kubernetes", "Prometheus"}},
			{"Software Engineer, Backend", []string{"Microservices"}},
			{"DevOps Engineer", []string{"CI/CD", "Docker"}},
		},
		skills: []string{"Go", "Rust", "Java", "Kotlin", "Python", "C#", "Node.js", "Scala", "Elixir", "Spring Boot", "Django",
			"PostgreSQL", "MySQL", "Redis", "Kafka", "RabbitMQ", "Kubernetes", "Docker", "Terraform", "AWS", "GCP", "Azure",
			"gRPC", "REST APIs", "Microservices", "Distributed Systems", "Linux", "Prometheus", "CI/CD", "Event Sourcing"},
		baseK:    [numLevels]int64{52, 68, 85, 105, 125},
		managers: []string{"Engineering Manager", "VP Engineering", "CTO", "Head of Platform", "Director of Engineering"},
		duties: []string{"design and run the services behind our product", "own APIs used by thousands of customers",
			"improve reliability and latency of our core platform", "break up a monolith into well-bounded services",
			"build the data pipelines that feed billing and reporting"},
	},
	{
		name: "frontend", weight: 12,
		prefixes: [numLevels]string{"Junior", "", "Senior", "Staff", "Principal"},
		titles: []title{
			{"Frontend Engineer", []string{"TypeScript", "React"}},
			{"React Developer", []string{"React", "TypeScript"}},
			{"Full-Stack Engineer", []string{"TypeScript", "Node.js"}},
			{"UI Engineer", []string{"CSS", "Accessibility"}},
			{"Vue.js Developer", []string{"Vue.js", "JavaScript"}},
			{"Web Developer", []string{"JavaScript", "HTML"}},
		},
		skills: []string{"TypeScript", "JavaScript", "React", "Next.js", "Vue.js", "Angular", "Svelte", "CSS", "HTML", "Tailwind CSS",
			"GraphQL", "Node.js", "Webpack", "Vite", "Jest", "Playwright", "Cypress", "Accessibility", "Web Performance", "Storybook", "Redux"},
		baseK:    [numLevels]int64{48, 64, 80, 98, 115},
		managers: []string{"Engineering Manager", "Head of Frontend", "VP Engineering", "CTO"},
		duties: []string{"build a fast, accessible customer-facing web app", "own our design system implementation",
			"ship features end to end with product and design", "improve Core Web Vitals across the product"},
	},
	{
		name: "data", weight: 12,
		prefixes: [numLevels]string{"Junior", "", "Senior", "Staff", "Principal"},
		titles: []title{
			{"Data Engineer", []string{"SQL", "Airflow"}},
			{"Data Scientist", []string{"Python", "Statistics"}},
			{"Machine Learning Engineer", []string{"Python", "PyTorch"}},
			{"Analytics Engineer", []string{"SQL", "dbt"}},
			{"Data Analyst", []string{"SQL", "Tableau"}},
			{"MLOps Engineer", []string{"MLflow", "Python"}},
		},
		skills: []string{"Python", "SQL", "Spark", "Airflow", "dbt", "Snowflake", "BigQuery", "Pandas", "PyTorch", "TensorFlow",
			"scikit-learn", "Kafka", "Databricks", "Looker", "Tableau", "Statistics", "A/B Testing", "LLMs", "Feature Engineering", "MLflow", "R"},
		baseK:    [numLevels]int64{50, 66, 84, 102, 120},
		managers: []string{"Head of Data", "Director of Analytics", "VP Data", "Data Science Manager"},
		duties: []string{"build the models behind our recommendations", "own the warehouse and its data quality",
			"turn product events into decisions", "take ML models from notebook to production"},
	},
	{
		name: "design", weight: 7,
		prefixes: [numLevels]string{"Junior", "", "Senior", "Lead", "Principal"},
		titles: []title{
			{"Product Designer", []string{"Figma", "UX Research"}},
			{"UX Designer", []string{"Figma", "Wireframing"}},
			{"UI Designer", []string{"Figma", "Visual Design"}},
			{"UX Researcher", []string{"User Interviews", "Usability Testing"}},
			{"Brand Designer", []string{"Adobe Illustrator", "Brand Identity"}},
			{"Design Systems Designer", []string{"Design Systems", "Figma"}},
		},
		skills: []string{"Figma", "Sketch", "Adobe XD", "Adobe Illustrator", "Photoshop", "Prototyping", "Wireframing", "UX Research",
			"User Interviews", "Usability Testing", "Design Systems", "Interaction Design", "Visual Design", "Accessibility",
			"Information Architecture", "Motion Design", "Brand Identity", "Typography"},
		baseK:    [numLevels]int64{42, 56, 72, 88, 102},
		managers: []string{"Head of Design", "Design Director", "VP Product", "Chief Product Officer"},
		duties: []string{"shape the end-to-end experience of our core product", "run research that changes the roadmap",
			"evolve our design system", "make complex workflows feel simple"},
	},
	{
		name: "product", weight: 9,
		prefixes: [numLevels]string{"Associate", "", "Senior", "Lead", "Principal"},
		titles: []title{
			{"Product Manager", []string{"Roadmapping", "Product Discovery"}},
			{"Product Owner", []string{"Scrum", "Backlog Management"}},
			{"Technical Product Manager", []string{"APIs", "Roadmapping"}},
			{"Growth Product Manager", []string{"A/B Testing", "Product Analytics"}},
			{"Product Operations Manager", []string{"Jira", "OKRs"}},
		},
		skills: []string{"Roadmapping", "Product Discovery", "Stakeholder Management", "A/B Testing", "Product Analytics", "SQL",
			"Jira", "Scrum", "OKRs", "User Stories", "Backlog Management", "Go-to-Market", "Pricing", "Amplitude", "Mixpanel", "B2B SaaS", "APIs"},
		baseK:    [numLevels]int64{50, 68, 86, 104, 122},
		managers: []string{"VP Product", "Chief Product Officer", "Head of Product", "Director of Product"},
		duties: []string{"own a product area from discovery to delivery", "grow activation and retention",
			"work with engineering and design on a platform roadmap", "launch our product in new markets"},
	},
	{
		name: "sales", weight: 14,
		prefixes: [numLevels]string{"Junior", "", "Senior", "Lead", "Enterprise"},
		titles: []title{
			{"Account Executive", []string{"Salesforce", "Negotiation"}},
			{"Sales Development Representative", []string{"Prospecting", "Cold Calling"}},
			{"Account Manager", []string{"Account Management", "Upselling"}},
			{"Customer Success Manager", []string{"Customer Success", "Onboarding"}},
			{"Business Development Manager", []string{"Business Development", "Lead Generation"}},
			{"Solutions Engineer", []string{"Solution Selling", "Demos"}},
		},
		skills: []string{"Salesforce", "HubSpot", "Negotiation", "Prospecting", "Cold Calling", "B2B Sales", "SaaS Sales",
			"Account Management", "Upselling", "Pipeline Management", "MEDDIC", "Solution Selling", "Lead Generation",
			"Customer Success", "Onboarding", "Business Development", "Demos", "Enterprise Sales", "Forecasting"},
		baseK:    [numLevels]int64{40, 52, 65, 80, 95},
		managers: []string{"VP Sales", "Head of Sales", "Chief Revenue Officer", "Sales Director", "Head of Customer Success"},
		duties: []string{"own a territory and a quota", "land and expand mid-market accounts",
			"build outbound pipeline from scratch", "keep our largest customers happy and growing"},
	},
	{
		name: "finance", weight: 10,
		prefixes: [numLevels]string{"Junior", "", "Senior", "Lead", "Principal"},
		titles: []title{
			{"Financial Analyst", []string{"Financial Modelling", "Excel"}},
			{"FP&A Analyst", []string{"FP&A", "Budgeting"}},
			{"Accountant", []string{"IFRS", "Bookkeeping"}},
			{"Financial Controller", []string{"IFRS", "Month-End Close"}},
			{"Treasury Analyst", []string{"Treasury", "Cash Management"}},
			{"Tax Specialist", []string{"Tax Compliance", "VAT"}},
			{"Audit Associate", []string{"Audit", "Internal Controls"}},
		},
		skills: []string{"Financial Modelling", "Excel", "FP&A", "Budgeting", "Forecasting", "IFRS", "US GAAP", "Bookkeeping",
			"Month-End Close", "Treasury", "Cash Management", "Tax Compliance", "VAT", "Audit", "Internal Controls", "SAP",
			"NetSuite", "Power BI", "SQL", "Management Reporting"},
		baseK:    [numLevels]int64{45, 58, 72, 88, 105},
		managers: []string{"CFO", "Finance Director", "Head of FP&A", "Group Controller"},
		duties: []string{"own the monthly close and reporting", "build the models behind our fundraising",
			"partner with budget holders across the business", "keep us compliant in six countries"},
	},
	{
		name: "healthcare", weight: 14,
		prefixes: [numLevels]string{"Graduate", "", "Senior", "Lead", "Principal"},
		titles: []title{
			{"Registered Nurse", []string{"Patient Care", "BLS"}},
			{"ICU Nurse", []string{"Critical Care", "ACLS"}},
			{"Physiotherapist", []string{"Musculoskeletal Rehab", "Manual Therapy"}},
			{"Pharmacist", []string{"Clinical Pharmacy", "Medication Management"}},
			{"Clinical Research Associate", []string{"GCP", "Clinical Trials"}},
			{"Medical Coder", []string{"ICD-10", "Medical Billing"}},
			{"Occupational Therapist", []string{"Rehabilitation", "Care Planning"}},
		},
		skills: []string{"Patient Care", "BLS", "ACLS", "Critical Care", "Triage", "Electronic Health Records", "Epic",
			"Care Planning", "Wound Care", "Medication Management", "Clinical Pharmacy", "Clinical Trials", "GCP",
			"Musculoskeletal Rehab", "Manual Therapy", "Rehabilitation", "ICD-10", "Medical Billing", "Infection Control", "Phlebotomy"},
		baseK:    [numLevels]int64{36, 44, 54, 64, 76},
		managers: []string{"Director of Nursing", "Head of Clinical Operations", "Chief Medical Officer", "Ward Manager"},
		duties: []string{"deliver excellent patient care on a busy ward", "support patients through recovery",
			"run clinical studies to GCP standard", "help a growing clinic network scale safely"},
	},
}

// hrTitles are client contacts outside any role family.
var hrTitles = []string{"Head of Talent Acquisition", "Talent Acquisition Partner", "HR Business Partner", "People Operations Manager", "Chief People Officer"}

// industry of a client company: name parts and the families it hires
// (weights parallel to families).
type industry struct {
	name     string
	weight   int
	suffixes []string
	hires    [8]int // backend, frontend, data, design, product, sales, finance, healthcare
	builds   []string
}

var industries = []industry{
	{"Fintech", 10, []string{"Pay", "Bank", "Capital", "Finance", "Money"}, [8]int{5, 3, 3, 1, 2, 2, 3, 0},
		[]string{"payments infrastructure for small businesses", "a mobile-first bank account", "spend management for finance teams"}},
	{"SaaS", 12, []string{"Labs", "Software", "Cloud", "Systems", "HQ"}, [8]int{5, 4, 2, 2, 3, 4, 1, 0},
		[]string{"workflow software for operations teams", "a collaboration platform for hybrid teams", "developer tooling for API teams"}},
	{"Healthtech", 7, []string{"Health", "Care", "Clinic", "Medical"}, [8]int{3, 2, 2, 1, 2, 1, 1, 4},
		[]string{"digital physiotherapy", "telemedicine for rural patients", "software for clinics and hospitals"}},
	{"Hospital Network", 6, []string{"Hospital Group", "Health Partners", "Clinics", "Care Group"}, [8]int{0, 0, 1, 0, 0, 0, 2, 9},
		[]string{"a network of private clinics", "acute and rehabilitation care", "outpatient and day surgery centres"}},
	{"E-commerce", 8, []string{"Shop", "Market", "Commerce", "Retail"}, [8]int{3, 3, 3, 2, 2, 2, 1, 0},
		[]string{"an online marketplace for independent brands", "same-day grocery delivery", "second-hand fashion resale"}},
	{"Logistics", 6, []string{"Logistics", "Freight", "Mobility", "Transport"}, [8]int{3, 1, 3, 1, 2, 3, 2, 0},
		[]string{"route optimisation for delivery fleets", "digital freight forwarding", "warehouse robotics software"}},
	{"Gaming", 4, []string{"Games", "Studios", "Interactive"}, [8]int{4, 3, 2, 3, 2, 1, 1, 0},
		[]string{"free-to-play mobile games", "multiplayer game backends", "indie console titles"}},
	{"Energy", 5, []string{"Energy", "Power", "Solar", "Grid"}, [8]int{3, 1, 3, 1, 2, 3, 2, 0},
		[]string{"home batteries and smart tariffs", "software for solar installers", "EV charging networks"}},
	{"Insurance", 5, []string{"Insurance", "Assurance", "Cover"}, [8]int{3, 2, 3, 1, 2, 3, 3, 0},
		[]string{"embedded insurance for online retailers", "pet and travel insurance", "claims automation for insurers"}},
	{"Media", 4, []string{"Media", "Publishing", "Studio"}, [8]int{2, 3, 2, 3, 2, 3, 1, 0},
		[]string{"a subscription news app", "podcast production and distribution", "a creator monetisation platform"}},
	{"Cybersecurity", 5, []string{"Security", "Shield", "Defense"}, [8]int{6, 2, 2, 1, 2, 3, 1, 0},
		[]string{"identity and access management", "cloud security posture tooling", "managed threat detection"}},
	{"Biotech", 4, []string{"Bio", "Therapeutics", "Pharma"}, [8]int{1, 0, 4, 0, 1, 1, 2, 5},
		[]string{"cell therapies for rare diseases", "AI-assisted drug discovery", "diagnostics for early cancer detection"}},
	{"Consulting", 4, []string{"Consulting", "Partners", "Advisory"}, [8]int{3, 2, 3, 2, 2, 3, 3, 0},
		[]string{"digital transformation for public sector clients", "data strategy for retailers", "finance transformation projects"}},
	{"Education", 3, []string{"Learning", "Academy", "Edu"}, [8]int{3, 3, 2, 2, 2, 2, 1, 0},
		[]string{"online courses for software engineers", "tutoring marketplaces", "learning tools for schools"}},
}

var companyPrefixes = []string{
	"Northwind", "Bluefin", "Brightline", "Copperleaf", "Silverpine", "Redwood", "Lumen", "Helix", "Quanta", "Nimbus",
	"Meridian", "Harbor", "Kestrel", "Juniper", "Vantage", "Pioneer", "Summit", "Cobalt", "Ember", "Granite",
	"Ivory", "Lattice", "Mosaic", "Onyx", "Polaris", "Quarry", "Riverstone", "Sable", "Tidal", "Umber",
	"Vertex", "Willow", "Zephyr", "Alder", "Beacon", "Cedar", "Evergreen", "Fathom", "Glacier", "Halcyon",
	"Indigo", "Jasper", "Keystone", "Larch", "Maple", "Nordlicht", "Oakridge", "Prism", "Quill", "Rook",
	"Saffron", "Tandem", "Upland", "Verdant", "Wren", "Yarrow", "Zenith", "Aurora", "Bramble", "Cascade",
	"Driftwood", "Foxglove", "Heron", "Lighthouse", "Marigold", "Nettle", "Otterly", "Pinecone", "Ravel", "Stonebridge",
}

// sizes of companies (employees) and their weights.
var companySizes = []string{"1-10", "11-50", "51-200", "201-500", "501-1000", "1001-5000", "5001+"}
var companySizeWeights = []int{5, 20, 30, 20, 12, 9, 4}

var sizeWords = map[string]string{
	"1-10": "tiny", "11-50": "early-stage", "51-200": "fast-growing", "201-500": "scale-up",
	"501-1000": "established", "1001-5000": "large", "5001+": "global",
}

// city is a location with its currency, cost factor (Berlin = 1.0), an
// approximate exchange rate (currency units per EUR) and a NANP area code
// for fictional phone numbers.
type city struct {
	name     string
	weight   int
	currency string
	factor   float64
	fx       float64
	remote   bool
	region   string // eu, na, apac
}

var cities = []city{
	{"Berlin, Germany", 14, "EUR", 1.00, 1, false, "eu"},
	{"Munich, Germany", 5, "EUR", 1.10, 1, false, "eu"},
	{"London, United Kingdom", 12, "GBP", 1.20, 0.85, false, "eu"},
	{"Amsterdam, Netherlands", 8, "EUR", 1.08, 1, false, "eu"},
	{"Paris, France", 8, "EUR", 1.02, 1, false, "eu"},
	{"Lisbon, Portugal", 6, "EUR", 0.68, 1, false, "eu"},
	{"Warsaw, Poland", 6, "PLN", 0.62, 4.3, false, "eu"},
	{"Madrid, Spain", 5, "EUR", 0.80, 1, false, "eu"},
	{"Stockholm, Sweden", 4, "SEK", 1.00, 11.5, false, "eu"},
	{"Dublin, Ireland", 4, "EUR", 1.12, 1, false, "eu"},
	{"New York, USA", 9, "USD", 1.60, 1.08, false, "na"},
	{"Toronto, Canada", 5, "CAD", 1.05, 1.47, false, "na"},
	{"Singapore", 4, "SGD", 1.15, 1.45, false, "apac"},
	{"Remote (EU)", 6, "EUR", 0.95, 1, true, "eu"},
	{"Remote (US)", 3, "USD", 1.35, 1.08, true, "na"},
}

// areaCodes for fictional NANP numbers (+1 AAA 555 01NN).
var areaCodes = []string{"212", "415", "416", "312", "617", "206", "303", "512", "604", "646", "718", "202"}

// sources of candidates (weights parallel).
var sources = []string{"linkedin", "referral", "job board", "inbound", "event"}
var sourceWeights = []int{38, 20, 18, 16, 8}

var candidateTags = []string{"open-to-relocation", "remote-only", "passive", "actively-looking", "visa-sponsorship",
	"silver-medalist", "notice-3-months", "contract", "freelance", "hot", "returner", "counter-offer-risk"}

var contactTags = []string{"hiring-manager", "decision-maker", "champion", "budget-holder", "hr"}

var emailDomains = []string{"example.com", "example.org", "example.net"}

var eventNames = []string{"GopherCon EU", "a local meetup", "the Berlin tech job fair", "a PyData evening", "SaaStock", "a nursing careers fair", "a design week panel"}

var noticePeriods = []string{"two weeks", "one month", "six weeks", "two months", "three months"}

// Rejection reasons by the stage the application is leaving.
var rejectReasons = map[string][]string{
	"sourced":   {"No response to outreach", "Not open to new roles", "Salary expectations above budget", "Location does not fit"},
	"screening": {"Not enough relevant experience", "Candidate withdrew", "Visa sponsorship not available", "Notice period too long"},
	"interview": {"Did not pass the technical interview", "Client chose a stronger candidate", "Candidate withdrew after interviews", "Concerns about team fit raised by the panel"},
	"offer":     {"Declined offer: accepted a counter-offer", "Declined offer: compensation", "Declined offer: relocation"},
}
