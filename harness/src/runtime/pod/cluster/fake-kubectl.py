#!/usr/bin/env python3
# A stand-in for kubectl and its cluster, for the cluster runtime's unit tests: each pod is
# a folder under STATE/pods (its volumes as subfolders), `port-forward` serves the pod's
# data dir over HTTP in place of its server, and every call is recorded in STATE/calls.log.
import json, os, re, subprocess, sys, time

STATE = os.environ.get("FAKE_KUBECTL_STATE") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "state")
args = sys.argv[1:]
os.makedirs(os.path.join(STATE, "pods"), exist_ok=True)
with open(os.path.join(STATE, "calls.log"), "a") as log:
    log.write(json.dumps(args) + "\n")

rest, i = [], 0
while i < len(args):
    if args[i] in ("--context", "--namespace"):
        i += 2
        continue
    rest.append(args[i])
    i += 1


def pod(name):
    return os.path.join(STATE, "pods", name.removeprefix("pod/"))


def inside(name, path):
    return os.path.join(pod(name), path.lstrip("/"))


def gone(name):
    return os.path.exists(os.path.join(pod(name), "deleted"))


def manifest(name):
    with open(os.path.join(pod(name), "manifest.yaml")) as f:
        return f.read()


cmd = rest[0]
if cmd == "config":
    print("kind-ci")
elif cmd == "version":
    print(json.dumps({"clientVersion": {"gitVersion": "v1.32.4"}, "serverVersion": {"gitVersion": "v1.31.0"}}))
elif cmd == "apply":
    text = open(rest[rest.index("--filename") + 1]).read()
    name = re.search(r"^  name: (\S+)$", text, re.M).group(1)
    for volume in ("opt/server", "data", "staging"):
        os.makedirs(inside(name, volume), exist_ok=True)
    with open(os.path.join(pod(name), "manifest.yaml"), "w") as f:
        f.write(text)
    print(f"pod/{name} created")
elif cmd == "get" and rest[1] == "pods":
    for name in sorted(os.listdir(os.path.join(STATE, "pods"))):
        if not gone(name):
            pid = re.search(r"io\.port-harness\.pid: '?(\d+)'?", manifest(name)).group(1)
            print(f"{name} {pid}")
elif cmd == "get":
    name = rest[2]
    if gone(name) or not os.path.isdir(pod(name)):
        sys.exit(f'Error from server (NotFound): pods "{name}" not found')
    output = rest[rest.index("--output") + 1]
    staged = os.path.exists(inside(name, "/staging/done"))
    if output.startswith("jsonpath="):
        sys.exit(0)
    if "image: missing" in manifest(name):
        waiting = {"reason": "ErrImagePull", "message": "pull access denied for missing"}
        print(json.dumps({"status": {"phase": "Pending", "initContainerStatuses": [{"name": "stage", "state": {"waiting": waiting}}]}}))
        sys.exit(0)
    init = {"terminated": {"exitCode": 0}} if staged else {"running": {"startedAt": "now"}}
    server = {"running": {"startedAt": "now"}} if staged else {"waiting": {"reason": "PodInitializing"}}
    print(json.dumps({"status": {"phase": "Running" if staged else "Pending",
                                 "initContainerStatuses": [{"name": "stage", "state": init}],
                                 "containerStatuses": [{"name": "server", "state": server}]}}))
elif cmd == "exec":
    name = next(a for a in rest[1:] if not a.startswith("-"))
    command = rest[rest.index("--") + 1:]
    container = rest[rest.index("--container") + 1]
    if command[0] == "touch":
        open(inside(name, command[1]), "w").close()
    elif command[0] == "tar":
        at = command.index("-C")
        command[at + 1] = inside(name, command[at + 1])
        if container == "server" and not os.path.exists(inside(name, "/staging/done")):
            sys.exit("container server is not running")
        sys.exit(subprocess.run(command).returncode)
elif cmd == "port-forward":
    name = rest[-2]
    port = rest[-1].split(":")[0]
    os.execvp(sys.executable, [sys.executable, "-m", "http.server", port, "--bind", "127.0.0.1", "--directory", inside(name, "/data")])
elif cmd == "logs":
    name = rest[rest.index("--follow") + 1]
    print(f"serving {name}", flush=True)
    while not gone(name):
        time.sleep(0.05)
elif cmd == "delete":
    name = rest[2]
    if os.path.isdir(pod(name)):
        open(os.path.join(pod(name), "deleted"), "w").close()
else:
    sys.exit(f"fake kubectl: unknown command {rest}")
