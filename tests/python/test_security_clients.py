"""Users and roles through the real client libraries, on the session simulator.

* netapp-lib (ZAPI): `security-login-role-create` and `security-login-create` make a custom role
  and a user on svm1; the user reads volumes, and a call its role does not grant raises
  NaApiError 13003 with ONTAP's words. A locked user is refused at sign-in (HTTP 401).
* netapp-ontap (REST): `Role` and `Account` resources make the same over REST; the user lists
  volumes, and a volume POST raises NetAppRestError with HTTP 403 and code "6".

Every test removes what it made (in `finally`), so the session simulator is left as it was.
"""

import pytest
from netapp_lib.api.zapi import zapi
from netapp_ontap.error import NetAppRestError
from netapp_ontap.resources import Account, Role, Volume

from rest_helpers import connect

USER_PASSWORD = "Secret123"


def el(name, **children):
    e = zapi.NaElement(name)
    for k, v in children.items():
        e.add_new_child(k, v)
    return e


def test_netapp_lib_custom_role_user_and_refusal(sim):
    role, user = "nl_role", "nl_user"
    entries = [("DEFAULT", "none"), ("volume", "readonly"), ("version", "readonly")]
    try:
        for directory, access in entries:
            sim.invoke(el("security-login-role-create", vserver="svm1", **{
                "role-name": role, "command-directory-name": directory, "access-level": access}))
        sim.invoke(el("security-login-create", vserver="svm1", **{
            "user-name": user, "application": "ontapi", "authentication-method": "password",
            "role-name": role, "password": USER_PASSWORD}))

        got = sim.invoke(el("security-login-get-iter"))
        rows = [(i.get_child_content("vserver"), i.get_child_content("user-name"),
                 i.get_child_content("application"), i.get_child_content("role-name"))
                for i in got.get_child_by_name("attributes-list").get_children()]
        assert ("svm1", user, "ontapi", role) in rows, rows

        # Granted: reads of `volume` and `version`.
        r = sim.invoke(el("volume-get-iter"), user=user, password=USER_PASSWORD)
        assert int(r.get_child_content("num-records")) >= 1
        sim.invoke(el("system-get-version"), user=user, password=USER_PASSWORD)
        # Not granted: writing `volume` (readonly) and reading `vserver` (DEFAULT none).
        e = sim.zapi_error(el("volume-create", volume="nl_vol", size="1g", **{
            "containing-aggr-name": "aggr1"}), user=user, password=USER_PASSWORD)
        assert e.code == "13003", (e.code, e.message)
        assert e.message == (f"Insufficient privileges: user '{user}' does not have write access "
                             "to this resource")
        e = sim.zapi_error(el("vserver-get-iter"), user=user, password=USER_PASSWORD)
        assert e.code == "13003" and "read access" in e.message, (e.code, e.message)

        # Locked: refused at sign-in, as a wrong password is.
        sim.invoke(el("security-login-lock", vserver="svm1", **{"user-name": user}))
        with pytest.raises(Exception) as info:
            sim.invoke(el("system-get-version"), user=user, password=USER_PASSWORD)
        assert "401" in str(info.value) or "Unauthorized" in str(info.value), info.value
    finally:
        try:
            sim.invoke(el("security-login-delete", vserver="svm1", **{
                "user-name": user, "application": "ontapi", "authentication-method": "password"}))
        except zapi.NaApiError:
            pass
        for directory, _ in entries:
            try:
                sim.invoke(el("security-login-role-delete", vserver="svm1", **{
                    "role-name": role, "command-directory-name": directory}))
            except zapi.NaApiError:
                pass


def test_netapp_ontap_role_account_and_refusal(sim):
    admin = connect(sim)
    role = Role(name="no_role", owner={"name": "svm1"}, privileges=[
        {"path": "/api/storage/volumes", "access": "readonly"},
        {"path": "/api/cluster", "access": "readonly"},
    ])
    account = Account(name="no_user", owner={"name": "svm1"}, role={"name": "no_role"},
                      password=USER_PASSWORD,
                      applications=[{"application": "http", "authentication_methods": ["password"]}])
    made = []
    try:
        role.post(connection=admin)
        made.append("role")
        account.post(connection=admin)
        made.append("account")

        found = list(Account.get_collection(connection=admin, name="no_user", fields="role,locked,applications"))
        assert len(found) == 1 and found[0].role.name == "no_role" and found[0].locked is False
        roles = list(Role.get_collection(connection=admin, name="no_role",
                                         fields="privileges,builtin"))
        assert [p.path for p in roles[0].privileges] == ["/api/storage/volumes", "/api/cluster"]
        assert roles[0].builtin is False

        as_user = connect(sim, user="no_user", password=USER_PASSWORD)
        names = [v.name for v in Volume.get_collection(connection=as_user)]
        assert names, "the user reads volumes"
        with pytest.raises(NetAppRestError) as info:
            Volume(name="no_vol", svm={"name": "svm1"}, size=2**30,
                   aggregates=[{"name": "aggr1"}]).post(connection=as_user)
        resp = info.value.http_err_response
        assert resp.http_response.status_code == 403, resp.http_response.text
        body = resp.http_response.json()
        assert body["error"] == {"message": "not authorized for that command", "code": "6"}, body
        assert not list(Volume.get_collection(connection=admin, name="no_vol"))

        # A role a user has cannot go.
        with pytest.raises(NetAppRestError) as info:
            Role(name="no_role", owner={"uuid": roles[0].owner.uuid}).delete(connection=admin)
        assert info.value.http_err_response.http_response.status_code == 409
    finally:
        owner = None
        for r in Role.get_collection(connection=admin, name="no_role", fields="owner"):
            owner = r.owner.uuid
        if "account" in made and owner:
            Account(name="no_user", owner={"uuid": owner}).delete(connection=admin)
        if "role" in made and owner:
            Role(name="no_role", owner={"uuid": owner}).delete(connection=admin)
