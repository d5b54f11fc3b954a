"""The services residents report under: our categories and Open311's ``service_code``.

One list for both APIs. Codes are stable ASCII slugs (they are in URLs and in clients' code);
names and descriptions are French, for people.
"""

from __future__ import annotations

from dataclasses import dataclass

from cloud.registry.models_reports import ReportCategory

GROUP = "Propreté"
KEYWORDS = "déchets, dépôt sauvage, propreté"


@dataclass(frozen=True, slots=True)
class Service:
    code: ReportCategory
    name: str
    description: str


SERVICES = (
    Service(
        ReportCategory.DEPOT_SAUVAGE,
        "Dépôt sauvage",
        "Sacs, cartons ou déchets ménagers abandonnés sur la voie publique ou en nature.",
    ),
    Service(
        ReportCategory.ENCOMBRANTS,
        "Encombrants",
        "Meubles, électroménager ou matelas laissés hors collecte.",
    ),
    Service(
        ReportCategory.DECHETS_VERTS,
        "Déchets verts",
        "Tontes, tailles ou branchages déposés hors déchetterie.",
    ),
    Service(ReportCategory.GRAVATS, "Gravats", "Déblais, briques, béton ou plâtre de chantier."),
    Service(ReportCategory.PNEUS, "Pneus", "Pneus usagés abandonnés."),
    Service(
        ReportCategory.AMIANTE,
        "Amiante suspecte",
        "Plaques ou débris pouvant contenir de l'amiante : ne pas y toucher.",
    ),
    Service(ReportCategory.AUTRE, "Autre", "Tout autre dépôt illégal."),
)
BY_CODE = {service.code.value: service for service in SERVICES}


def service_name(code: ReportCategory) -> str:
    return BY_CODE[code.value].name
