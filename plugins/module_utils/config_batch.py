# Copyright: hapair.keepalived contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""config_fragments: many vrrp_instance / virtual_server / real_server objects, and
optionally the main file with the layout's directories and plain files beside the
config (a systemd unit), in one module call (one round trip per host instead of one
per object and file); it also lists the fragment files on the host, which is what a
purge compares the items with.

For a load balancer's whole idempotent check in that one call it can also keep a
sysctl.d file and the running kernel's values (module_utils/sysctl.py), say which of some
paths exist (an installed build's marker, a pending restart's), write nothing of the
config while the daemon it is for is not installed (``requires``), and report a systemd
unit's state after the change (module_utils/systemd_unit.py).

Each item is checked against its own module's argument spec and rendered by its own
class (VrrpInstance, VirtualServer, RealServer), so the files are byte for byte those
the per-object modules write; the batch then validates all changes with one
``pykeepalived -t`` on one copy, writes them and sends one SIGHUP.
"""

from __future__ import annotations

import fnmatch
import os

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible_collections.hapair.keepalived.plugins.module_utils import daemon, fragments, systemd_unit
from ansible_collections.hapair.keepalived.plugins.module_utils import real_server as rs_utils
from ansible_collections.hapair.keepalived.plugins.module_utils import sysctl as sysctl_utils
from ansible_collections.hapair.keepalived.plugins.module_utils import virtual_server as vs_utils
from ansible_collections.hapair.keepalived.plugins.module_utils import vrrp_instance as vi_utils
from ansible_collections.hapair.keepalived.plugins.module_utils.syntax import SyntaxValueError

# option name -> (module kwargs, class); in the order the objects are applied
KINDS = (
    ("vrrp_instances", vi_utils.MODULE_KWARGS, vi_utils.VrrpInstance),
    ("virtual_servers", vs_utils.MODULE_KWARGS, vs_utils.VirtualServer),
    ("real_servers", rs_utils.MODULE_KWARGS, rs_utils.RealServer),
)
COMMON = tuple(fragments.common_argument_spec())
# The fragment files in conf.d (and one level below: real servers) that items own.
FRAGMENT_PATTERNS = ("vrrp_instance-*.conf", "virtual_server-*.conf", "real_server-*.conf")
PLAIN_FILE_OPTIONS = dict(path=dict(type="path", required=True), content=dict(type="str", required=True),
                          mode=dict(type="str", default="0644"))


def argument_spec():
    spec = fragments.common_argument_spec()
    for option, _kwargs, _cls in KINDS:
        spec[option] = dict(type="list", elements="dict", default=[])
    spec["main_config"] = dict(type="str")
    spec["files"] = dict(type="list", elements="dict", default=[], options=PLAIN_FILE_OPTIONS)
    spec["sysctl"] = dict(type="dict")
    spec["look_for"] = dict(type="list", elements="path", default=[])
    spec["requires"] = dict(type="path")
    spec["service"] = dict(type="str")
    return spec


MODULE_KWARGS = dict(argument_spec=argument_spec(), supports_check_mode=True)


class ItemModule:
    """What a ConfigObject sees as its module: the item's checked options, and the
    real module for everything else (fail_json, warn, check_mode, atomic_move)."""

    def __init__(self, module, params):
        self.params = params
        self._module = module

    def __getattr__(self, name):
        return getattr(self._module, name)


def _validator(kwargs):
    rules = {k: v for k, v in kwargs.items() if k not in ("argument_spec", "supports_check_mode")}
    return ArgumentSpecValidator(kwargs["argument_spec"], **rules)


def build_objects(module):
    """One ConfigObject per item, in KINDS order; fails naming the item on a bad option."""
    common = {name: module.params[name] for name in COMMON}
    objects = []
    for option, kwargs, cls in KINDS:
        validator = _validator(kwargs)
        for index, item in enumerate(module.params[option]):
            if set(item) & set(COMMON):
                module.fail_json(msg=f"{option}[{index}]: {', '.join(sorted(set(item) & set(COMMON)))} "
                                     "is set once for the whole task, not per item")
            checked = validator.validate(dict(item, **common))
            if checked.error_messages:
                module.fail_json(msg=f"{option}[{index}]: {'; '.join(checked.error_messages)}")
            objects.append((option, cls(ItemModule(module, checked.validated_parameters))))
    return objects


def layout_dirs(config_dir):
    """The layout's directories that are missing, or not mode 0750 owner root."""
    wanted = (config_dir, os.path.join(config_dir, "conf.d"))
    return [path for path in wanted if not (os.path.isdir(path) and fragments.has_mode(path, fragments.DIR_MODE))]


def plain_files(module):
    """{path: (text, mode)} of the ``files`` whose text, mode or owner differ, with their diffs.
    Not config: neither validated nor a reason to reload."""
    changes, diffs = {}, []
    for item in module.params["files"]:
        try:
            mode = int(item["mode"], 8)
        except ValueError:
            module.fail_json(msg=f"files: mode {item['mode']!r} of {item['path']} is not an octal mode")
        before = fragments.read_text(item["path"])
        if before == item["content"] and fragments.has_mode(item["path"], mode):
            continue
        changes[item["path"]] = (item["content"], mode)
        diffs.append(dict(before=before or "", after=item["content"],
                          before_header=item["path"] if before is not None else f"{item['path']} (absent)",
                          after_header=f"{item['path']} (mode {item['mode']})"))
    return changes, diffs


def fragments_on_host(conf_d):
    """Every instance, virtual and real server fragment file in conf.d and its subdirectories."""
    found = []
    for dirpath, dirnames, filenames in os.walk(conf_d):
        if dirpath != conf_d:
            dirnames[:] = []  # one level below conf.d: a virtual server's real servers
        found += [os.path.join(dirpath, name) for name in filenames
                  if any(fnmatch.fnmatchcase(name, pattern) for pattern in FRAGMENT_PATTERNS)]
    return sorted(found)


def make_dirs(paths):
    for path in paths:
        os.makedirs(path, fragments.DIR_MODE, exist_ok=True)
        os.chmod(path, fragments.DIR_MODE)
        if os.geteuid() == 0:
            os.chown(path, 0, 0)


def sysctls(module):
    """The ``sysctl`` option's Sysctls (checked against the sysctl module's spec), or None."""
    if module.params["sysctl"] is None:
        return None
    checked = _validator(sysctl_utils.MODULE_KWARGS).validate(module.params["sysctl"])
    if checked.error_messages:
        module.fail_json(msg=f"sysctl: {'; '.join(checked.error_messages)}")
    return sysctl_utils.Sysctls(ItemModule(module, checked.validated_parameters))


def configure(module):
    """The config part: main file, directories, fragments, plain files; its result keys."""
    objects = build_objects(module)
    wanted = {}
    if module.params["main_config"] is not None:
        wanted[os.path.join(os.path.abspath(module.params["config_dir"]), "keepalived.conf")] = module.params["main_config"]
    try:
        for _option, obj in objects:
            wanted.update(obj.desired())
    except SyntaxValueError as exc:
        module.fail_json(msg=str(exc))
    changes, diffs = fragments.changes_and_diffs(wanted)
    config_dir = os.path.abspath(module.params["config_dir"])
    # with the main file, the task owns the layout's directories too
    dirs = layout_dirs(config_dir) if module.params["main_config"] is not None else []
    diffs = [dict(before="" if not os.path.isdir(path) else "directory\n", after="directory, mode 0750, owner root\n",
                  before_header=path, after_header=path) for path in dirs] + diffs
    files, file_diffs = plain_files(module)
    diffs += file_diffs
    results = {option: [] for option, _kwargs, _cls in KINDS}
    for option, obj in objects:
        results[option].append(dict(obj.result(), fragment=obj.fragment_path(),
                                    changed=any(p in changes for p in obj.desired())))
    if changes:
        for _option, obj in objects:
            # a real server whose virtual server this same task writes needs no file on disk yet
            if isinstance(obj, rs_utils.RealServer) and wanted.get(obj.service.fragment(obj.conf_d)):
                continue
            obj.preflight()
        base = objects[0][1] if objects else fragments.ConfigObject(module)
        base.validate(changes)
        if not module.check_mode:
            base.apply(changes)
            for _option, obj in objects:
                for path in obj.empty_dirs():
                    if os.path.isdir(path) and not os.listdir(path):
                        os.rmdir(path)
    if not module.check_mode:
        make_dirs(dirs)  # (made by the writes above if missing; mode and owner set here)
        for path, (text, mode) in sorted(files.items()):
            fragments.write_atomic(module, path, text, mode)
    reloaded = False
    if changes and not module.check_mode and module.params["reload"]:
        reloaded, warning = daemon.reload_daemon(module.params["runtime_dir"])
        if warning:
            module.warn(warning)
    return dict(changed=bool(changes or dirs or files), reloaded=reloaded, diff=diffs,
                fragments=sorted(r["fragment"] for rs in results.values() for r in rs),
                fragments_on_host=fragments_on_host(os.path.join(config_dir, "conf.d")),
                files=[dict(path=item["path"], changed=item["path"] in files) for item in module.params["files"]],
                **results)


def deferred_result(module):
    """The config part's result keys when it waits for ``requires``: nothing written or listed."""
    return dict(changed=False, reloaded=False, diff=[], fragments=[], fragments_on_host=[],
                files=[dict(path=item["path"], changed=False) for item in module.params["files"]],
                **{option: [] for option, _kwargs, _cls in KINDS})


def run(module):
    kernel = sysctls(module)
    sysctl_result = kernel.plan() if kernel else None
    if kernel and not module.check_mode:
        kernel.apply()
    requires = module.params["requires"]
    # (check mode shows the change anyway: validation warns if there is no checker yet)
    deferred = bool(requires) and not os.path.exists(requires) and not module.check_mode
    result = deferred_result(module) if deferred else configure(module)
    result.update(deferred=deferred, found=[path for path in module.params["look_for"] if os.path.lexists(path)])
    if sysctl_result:
        result["sysctl"] = dict(path=sysctl_result["path"], kernel=sysctl_result["kernel"], changed=sysctl_result["changed"])
        result["changed"] = result["changed"] or sysctl_result["changed"]
        if sysctl_result["changed"]:
            result["diff"] = [sysctl_result["diff"]] + result["diff"]
    if module.params["service"]:
        result["service"] = systemd_unit.state(module, module.params["service"])
    module.exit_json(**result)
