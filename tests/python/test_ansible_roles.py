"""A least-privilege account for Trident, made with Ansible and then used: over ZAPI
(use_rest=never) and again over REST (use_rest=always).

As the lab's playbook does it: `na_ontap_user_role` makes a custom role on svm1 (command
directories over ZAPI, REST paths over REST), `na_ontap_user` makes a user with that role for the
front's application (`ontapi` / `http`) and a password. Every task runs twice: the first run
changes, the second is a no-op. Then the lab's volume steps run AS that user (`na_ontap_volume`
create / resize / delete, `na_ontap_snapshot` create) and succeed, and a module the role does not
allow is refused with ONTAP's error (ZAPI 13003 "Insufficient privileges", REST 403 "not
authorized for that command") and changes nothing.

Topology: the built-in default (`--ephemeral`), one simulator per front.
"""

import pytest

from simproc import PASSWORD, SimProcess
from test_ansible import AnsibleRunner, run_ok, step, twice

VSERVER = "svm1"
AGGR = "aggr1"
USER_PASSWORD = "Trident123"

# The README's Trident role, as command directories (ZAPI's `security login role create`).
ZAPI_ROLE = [
    ("DEFAULT", "none"),
    ("version", "readonly"),
    ("vserver", "readonly"),
    ("vserver export-policy", "all"),
    ("network interface", "readonly"),
    ("event generate-autosupport-log", "all"),
    ("job", "readonly"),
    ("volume", "all"),
    ("snapmirror", "all"),
]

# The same needs as REST paths (`/api/security/roles` privileges).
REST_ROLE = [
    {"path": "/api/cluster", "access": "readonly"},
    {"path": "/api/network/ip/interfaces", "access": "readonly"},
    {"path": "/api/protocols/nfs/export-policies", "access": "readonly"},
    {"path": "/api/snapmirror/relationships", "access": "all"},
    {"path": "/api/storage/aggregates", "access": "readonly"},
    {"path": "/api/storage/volumes", "access": "all"},
    {"path": "/api/support/ems/application-logs", "access": "all"},
    {"path": "/api/svm/svms", "access": "readonly"},
]


class RoleRunner(AnsibleRunner):
    """The ZAPI tests' runner, over ZAPI or REST, as admin or as another user."""

    def __init__(self, sim, workdir, use_rest):
        super().__init__(sim, workdir)
        self.use_rest = use_rest
        self.as_user = None

    def connection_args(self):
        args = super().connection_args()
        args["use_rest"] = self.use_rest
        if self.as_user:
            args["username"], args["password"] = self.as_user
        return args


@pytest.fixture(scope="module")
def roles_sim(tmp_path_factory):
    work = tmp_path_factory.mktemp("roles-sim")
    proc = SimProcess(["--listen", "127.0.0.1:0", "--ephemeral"],
                      log_path=work / "ontap-sim.stderr.log")
    try:
        yield proc
    finally:
        died = proc.proc.poll() is not None
        code = proc.stop()
        if died or code != 0:
            pytest.fail(f"ontap-sim exited with {code}; stderr:\n{proc.stderr()[-5000:]}",
                        pytrace=False)


@pytest.fixture(scope="module")
def zapi_ans(roles_sim, tmp_path_factory):
    return RoleRunner(roles_sim, tmp_path_factory.mktemp("roles-zapi"), "never")


@pytest.fixture(scope="module")
def rest_ans(roles_sim, tmp_path_factory):
    return RoleRunner(roles_sim, tmp_path_factory.mktemp("roles-rest"), "always")


def volume_steps(ans, user, vol):
    """The lab's volume steps as `user`: create, resize, snapshot, delete (each twice)."""
    ans.as_user = (user, USER_PASSWORD)
    try:
        args = dict(state="present", vserver=VSERVER, name=vol, aggregate_name=AGGR, size=1,
                    size_unit="gb", junction_path=f"/{vol}", export_policy="default")
        first, _ = twice(ans, "na_ontap_volume", **args)
        assert first.get("actions") == ["create"], first
        first, _ = twice(ans, "na_ontap_volume", **dict(args, size=2))
        assert first.get("modify") == {"size": 2 * 1024**3}, first.get("modify")
        twice(ans, "na_ontap_snapshot", state="present", vserver=VSERVER, volume=vol,
              snapshot="snap1")
        twice(ans, "na_ontap_volume", state="absent", vserver=VSERVER, name=vol)
    finally:
        ans.as_user = None


def refused(ans, user, module, expect, **args):
    """`module` run as `user` fails with `expect` in its message."""
    ans.as_user = (user, USER_PASSWORD)
    try:
        res = ans.run(module, **args)
    finally:
        ans.as_user = None
    assert res.get("failed"), f"{module} as {user} should be refused: {res}"
    for text in expect:
        assert text in str(res.get("msg")), res.get("msg")


def test_zapi_trident_role_user_and_volume_steps(zapi_ans):
    ans, role, user = zapi_ans, "trident_zapi", "trident_zapi"
    with step(ans, "zapi_role"):
        for directory, access in ZAPI_ROLE:
            twice(ans, "na_ontap_user_role", state="present", vserver=VSERVER, name=role,
                  command_directory_name=directory, access_level=access)
        # A changed entry is a modify, and a no-op the second time.
        first, _ = twice(ans, "na_ontap_user_role", state="present", vserver=VSERVER, name=role,
                         command_directory_name="job", access_level="all")
        assert first.get("modify") == {"access_level": "all"}, first
    with step(ans, "zapi_user", "zapi_role"):
        twice(ans, "na_ontap_user", state="present", vserver=VSERVER, name=user,
              applications=["ontapi"], authentication_method="password", role_name=role,
              set_password=USER_PASSWORD)
    with step(ans, "zapi_volume_steps", "zapi_user"):
        volume_steps(ans, user, "trident_zapi_vol")
    with step(ans, "zapi_refusal", "zapi_user"):
        # Users are not in the role: security-login-get-iter is refused, nothing is made.
        refused(ans, user, "na_ontap_user",
                ["13003", "Insufficient privileges: user 'trident_zapi' does not have read access"],
                state="present", vserver=VSERVER, name="intruder", applications=["ontapi"],
                authentication_method="password", role_name="vsadmin", set_password="Intruder123")
        run_ok(ans, "na_ontap_user", False, state="absent", vserver=VSERVER, name="intruder",
               applications=["ontapi"], authentication_method="password")
    with step(ans, "zapi_lock", "zapi_user"):
        twice(ans, "na_ontap_user", state="present", vserver=VSERVER, name=user,
              applications=["ontapi"], authentication_method="password", role_name=role,
              lock_user=True)
        # Locked: the user's own calls are refused at sign-in.
        refused(ans, user, "na_ontap_volume", ["401"], state="present", vserver=VSERVER,
                name="locked_vol", aggregate_name=AGGR, size=1, size_unit="gb")
        twice(ans, "na_ontap_user", state="present", vserver=VSERVER, name=user,
              applications=["ontapi"], authentication_method="password", role_name=role,
              lock_user=False)


def test_rest_trident_role_user_and_volume_steps(rest_ans):
    ans, role, user = rest_ans, "trident_rest", "trident_rest"
    with step(ans, "rest_role"):
        twice(ans, "na_ontap_user_role", state="present", vserver=VSERVER, name=role,
              privileges=REST_ROLE)
    with step(ans, "rest_user", "rest_role"):
        twice(ans, "na_ontap_user", state="present", vserver=VSERVER, name=user,
              applications=["http"], authentication_method="password", role_name=role,
              set_password=USER_PASSWORD)
    with step(ans, "rest_volume_steps", "rest_user"):
        volume_steps(ans, user, "trident_rest_vol")
    with step(ans, "rest_refusal", "rest_user"):
        # The role reads export policies but may not make one.
        refused(ans, user, "na_ontap_export_policy", ["not authorized for that command"],
                state="present", vserver=VSERVER, name="not_mine")
        run_ok(ans, "na_ontap_export_policy", False, state="absent", vserver=VSERVER,
               name="not_mine")
    with step(ans, "rest_role_change", "rest_role"):
        # Privileges added and removed through the role's privilege sub-collection.
        changed = REST_ROLE[:-1] + [{"path": "/api/svm/svms", "access": "all"}]
        twice(ans, "na_ontap_user_role", state="present", vserver=VSERVER, name=role,
              privileges=changed)
