"""Generate simulators/scenarios/ccphva.yaml (run once; the YAML is the source of truth)."""

import random

rng = random.Random(2026)
COMMUNES = [  # code, name, population (INSEE order of magnitude), lat, lon, cabinets, loops
    ("vil", "Villerupt", 9900, 49.4681, 5.9297, 51, 9),
    ("aud", "Audun-le-Tiche", 7200, 49.4728, 5.9553, 37, 7),
    ("ott", "Ottange", 2850, 49.4411, 6.0181, 15, 4),
    ("aum", "Aumetz", 2470, 49.4178, 5.9436, 13, 3),
    ("bou", "Boulange", 2460, 49.3828, 5.9494, 13, 3),
    ("thi", "Thil", 1730, 49.4731, 5.9075, 9, 2),
    ("rus", "Russange", 1360, 49.4829, 5.9530, 7, 1),
    ("red", "Rédange", 1070, 49.4917, 5.9147, 6, 1),
]
STREETS = [
    "rue de la Gare",
    "rue Carnot",
    "rue Jean Jaurès",
    "place de la Mairie",
    "rue des Écoles",
    "avenue de la Libération",
    "rue Pasteur",
    "rue du Moulin",
    "rue de l'Église",
    "rue Victor Hugo",
    "rue de la République",
    "rue du Stade",
    "rue des Jardins",
    "rue de Metz",
    "rue de Longwy",
    "rue Émile Zola",
    "cité des Mines",
    "rue du Général de Gaulle",
    "rue des Vergers",
    "rue de la Forêt",
    "allée des Tilleuls",
    "rue Saint-Nicolas",
    "rue de Lorraine",
    "rue des Prés",
    "rue de la Fontaine",
]


def meter_model(installed):
    if installed < 1500 and rng.random() < 0.6:
        return "sdm120"
    return rng.choices(["sdm630", "iem3155", "em24"], [65, 20, 15])[0]


def circuits(installed):
    return 1 if installed < 1200 else 2 if installed < 3500 else 3 if installed < 6000 else 4


def lane_block(double):
    pair = rng.random() < 0.6
    base = rng.choice([300, 400, 500, 650, 800, 900])
    lanes = []
    if pair:
        lanes.append(f"          - {{direction: in, peak_vph: {base}, profile: commuter_in}}")
        lanes.append(
            f"          - {{direction: out, peak_vph: {int(base * rng.uniform(0.85, 1.1))}, profile: commuter_out}}"
        )
    else:
        lanes.append(f"          - {{direction: east, peak_vph: {base}}}")
        lanes.append(
            f"          - {{direction: west, peak_vph: {int(base * rng.uniform(0.85, 1.1))}}}"
        )
    head = (
        "      - id: loops\n        model: loop_station\n        unit: 3\n"
        f"        interval_s: 60\n        double_loop: {'true' if double else 'false'}\n        lanes:\n"
    )
    return head + "\n".join(lanes) + "\n"


out = []
out.append("""# Communauté de communes du Pays-Haut Val d'Alzette (Moselle): the whole territory.
#   8 communes, about 29,000 inhabitants; ~150 lighting cabinets, spread in proportion to population
#   around each commune's centre; 3 waste centres; 30 loop stations on cabinet gateways.
# Coordinates are plausible (commune centres ± ~1 km), not surveyed positions; populations are the
# order of magnitude of the INSEE legal populations. Generated once with a seeded script, then
# edited by hand like any other scenario: every gateway can be changed on its own.
# Each gateway is one Modbus TCP endpoint answering units 1 (meter), 2 (cabinet controller) and 3
# (loop station, where present); waste centres answer unit 1 (gate controller).
name: ccphva
description: Pays-Haut Val d'Alzette, eight communes, ~150 cabinets, 3 waste centres, 30 loop stations.
timezone: Europe/Paris
seed: 2026
tick_s: 1.0
poll_s: 60
lighting:
  on_offset_min: 15
  off_offset_min: 15
  luminaire_w: 55
  standby_w: 5
  dim_steps:
    - {from: "22:00", to: "06:00", level_pct: 50}

gateways:""")
total_cab = 0
for code, name, pop, lat, lon, ncab, nloops in COMMUNES:
    loops_at = set(rng.sample(range(1, ncab + 1), nloops))
    out.append(f"  # {name}: ~{pop} inhabitants, {ncab} cabinets, {nloops} loop stations")
    for n in range(1, ncab + 1):
        total_cab += 1
        installed = max(600, min(9000, round(rng.lognormvariate(7.95, 0.45) / 50) * 50))
        la = round(lat + rng.gauss(0, 0.0055), 5)
        lo = round(lon + rng.gauss(0, 0.0085), 5)
        street = rng.choice(STREETS)
        model = meter_model(installed)
        block = (
            f"  - id: {code}-c{n:03d}\n"
            f"    site: {name} — {street}\n"
            f"    commune: {name}\n"
            f"    latitude: {la}\n    longitude: {lo}\n"
            f"    cabinet: {{installed_w: {installed}, circuits: {circuits(installed)}}}\n"
            f"    devices:\n"
            f"      - {{id: meter, model: {model}, unit: 1}}\n"
            f"      - {{id: controller, model: cabinet_controller, unit: 2}}\n"
        )
        if n in loops_at:
            block += lane_block(rng.random() < 0.35)
        out.append(block.rstrip("\n"))

WASTE = [
    (
        "vil-dech",
        "Déchetterie de Villerupt",
        "Villerupt",
        49.4612,
        5.9195,
        10,
        26,
        {
            "mon": ["14:00-18:00"],
            "tue": ["09:00-12:00", "14:00-18:00"],
            "wed": ["09:00-12:00", "14:00-18:00"],
            "thu": ["09:00-12:00", "14:00-18:00"],
            "fri": ["09:00-12:00", "14:00-18:00"],
            "sat": ["09:00-18:00"],
            "sun": ["09:00-12:00"],
        },
    ),
    (
        "aud-dech",
        "Déchetterie d'Audun-le-Tiche",
        "Audun-le-Tiche",
        49.4665,
        5.9651,
        8,
        20,
        {
            "mon": ["14:00-18:00"],
            "wed": ["09:00-12:00", "14:00-18:00"],
            "thu": ["14:00-18:00"],
            "fri": ["09:00-12:00", "14:00-18:00"],
            "sat": ["09:00-12:00", "13:30-18:00"],
            "sun": ["09:00-12:00"],
        },
    ),
    (
        "aum-dech",
        "Déchetterie d'Aumetz",
        "Aumetz",
        49.4131,
        5.9378,
        7,
        14,
        {
            "tue": ["14:00-18:00"],
            "wed": ["09:00-12:00", "14:00-18:00"],
            "fri": ["14:00-18:00"],
            "sat": ["09:00-12:00", "14:00-18:00"],
        },
    ),
]
out.append(
    "  # Waste centres (déchetteries): closed Monday mornings and Sunday afternoons, Saturday peak"
)
for gid, site, commune, la, lo, bays, rate, hours in WASTE:
    hl = "\n".join(
        f"        {d}: [{', '.join(repr(p).replace(chr(39), chr(34)) for p in ps)}]"
        for d, ps in hours.items()
    )
    out.append(f"""  - id: {gid}
    site: {site}
    commune: {commune}
    latitude: {la}
    longitude: {lo}
    waste_centre:
      bays: {bays}
      arrivals_per_hour: {rate}
      service_min: 11
      opening_hours:
{hl}
      closed_dates: ["2026-12-25", "2027-01-01", "2027-05-01"]
      day_factors: {{sat: 1.7, sun: 1.3}}
    devices:
      - {{id: gate, model: gate_controller, unit: 1}}""")
out.append("""
# A few field problems to find on the boards.
faults:
  - {after_s: 7200, device: vil-c007, kind: day_burner}
  - {after_s: 3600, device: aud-c012/controller, kind: stuck_contactor, circuit: 0}
  - {after_s: 10800, device: ott-c003/meter, kind: counter_reset}
  - {after_s: 5400, device: vil-c021, kind: lamp_failure, circuit: 0, count: 3}""")
print("\n".join(out))
import sys

print(total_cab, file=sys.stderr)
