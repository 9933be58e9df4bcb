"""Run by Debian's python3 with python3-qgis (headless): open each collection of an OGC API –
Features server as a QGIS OAPIF layer and print ``name<TAB>features read``, one line each.

Usage: QT_QPA_PLATFORM=offscreen SINHKE_TOKEN=… python3 qgis_read_collections.py URL NAME…
QGIS 3.22 has no per-layer header setting, so a request preprocessor adds the Bearer token.
"""

import os
import sys

from qgis.core import QgsApplication, QgsNetworkAccessManager, QgsVectorLayer

QgsApplication.setPrefixPath("/usr", True)
app = QgsApplication([], False)
app.initQgis()
token = os.environ["SINHKE_TOKEN"].encode()


def bearer(request):  # type: ignore[no-untyped-def]
    request.setRawHeader(b"Authorization", b"Bearer " + token)


QgsNetworkAccessManager.setRequestPreprocessor(bearer)
url = sys.argv[1]
for name in sys.argv[2:]:
    layer = QgsVectorLayer(f"url='{url}' typename='{name}' restrictToRequestBBOX='0'", name, "OAPIF")
    read = sum(1 for _ in layer.getFeatures()) if layer.isValid() else -1
    print(f"{name}\t{read}", flush=True)
# QGIS 3.22 crashes in exitQgis() once a Python request preprocessor is set: leave at once
os._exit(0)
