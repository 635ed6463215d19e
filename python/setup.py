"""Builds the wheel with the fast sigward component inside.

From a checkout, the component is written by the Rust host
(`sigward component --write`), so `pip install ./python` needs the Rust
toolchain of the repository; from an sdist, the shipped file is used.
"""

import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
REPOSITORY = HERE.parent
COMPONENT = HERE / "src" / "sigward" / "sigward.wasm"


class BuildWithComponent(build_py):
    def run(self) -> None:
        if (REPOSITORY / "Cargo.toml").is_file():
            print("sigward: writing the fast component with `sigward component --write`")
            # The build `just build` makes, so that an existing one is reused.
            subprocess.run(
                [
                    "cargo",
                    "build",
                    "--locked",
                    "--quiet",
                    "-p",
                    "sigward-host",
                    "-p",
                    "sigward-demo",
                    "--bins",
                ],
                cwd=REPOSITORY,
                check=True,
            )
            subprocess.run(
                [
                    str(REPOSITORY / "target" / "debug" / "sigward"),
                    "component",
                    "--write",
                    str(COMPONENT),
                ],
                check=True,
                stdout=subprocess.DEVNULL,
            )
        if not COMPONENT.is_file():
            raise SystemExit(
                f"sigward: {COMPONENT} is missing and there is no checkout to build it"
            )
        super().run()


setup(cmdclass={"build_py": BuildWithComponent})
