#!/bin/sh
# Makes sure Criterion (Debian's libcriterion-dev) is installed: installs it
# with apt-get when it is missing and we can, else says exactly what to run.
exec sh "$(dirname "$0")/need-pkg.sh" /usr/include/criterion/criterion.h \
	libcriterion-dev
