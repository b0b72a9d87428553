#!/bin/sh
# Makes sure Go (Debian's golang-go, 1.19 or later) is installed for the
# Go twin (go/README.md): installs it with apt-get when it is missing and
# we can, else says exactly what to run. Like need-criterion.sh.
exec sh "$(dirname "$0")/need-pkg.sh" go golang-go
