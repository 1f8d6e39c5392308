"""Small request builders shared by conftest.py and the tests."""

import base64

from netapp_lib.api.zapi import zapi

NETAPP_NS = "http://www.netapp.com/filer/admin"


def api(name, inputs=None):
    """A netapp-lib request element; `inputs` is a dict (nested dicts become child elements,
    None an empty element)."""
    el = zapi.NaElement(name)
    if inputs:
        el.translate_struct(inputs)
    return el


def envelope(*api_xml, attrs=""):
    """A raw `<netapp>` request body around the given API element text(s)."""
    return (f'<netapp xmlns="{NETAPP_NS}"{attrs}>' + "".join(api_xml) + "</netapp>").encode()


def basic_auth(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
