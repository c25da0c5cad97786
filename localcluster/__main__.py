"""Command line: python -m localcluster {build,up,down,status,kubeconfig} [names...]."""

from __future__ import annotations

import argparse
import json
import sys

from localcluster import build, cluster, images


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localcluster", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    build_parser = sub.add_parser("build", help="compile the components from Go modules (cached by version)")
    build_parser.add_argument("--node", action="store_true",
                              help="also the real node's components and images (clusters with real_node)")
    for command, text in (("up", "build if needed, start, wait until all nodes are Ready"),
                          ("down", "stop the recorded processes"),
                          ("status", "print which processes run"),
                          ("kubeconfig", "print the kubeconfig path")):
        p = sub.add_parser(command, help=text)
        p.add_argument("names", nargs="*", default=["local"], help="cluster names (clusters.yml); default: local")
        if command == "down":
            p.add_argument("--purge", action="store_true", help="also delete the cluster's data")
    args = parser.parse_args(argv)

    if args.command == "build":
        build.build_all(node=args.node)
        if args.node:
            images.build_images()
        return 0
    if args.command == "up":
        build.build_all()
        for name in args.names:
            cluster.up(name)
        return 0
    for name in args.names:
        if args.command == "down":
            stopped = cluster.down(name, purge=args.purge)
            print(f"cluster {name}: stopped {', '.join(stopped) or 'nothing (not running)'}")
        elif args.command == "status":
            print(json.dumps(cluster.status(name), indent=2))
        else:
            print(cluster.kubeconfig_path(name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
