/*
 * version.h - the one place the version is written, for every program's
 * --version and the manual pages' headers.
 */
#ifndef HUBCHAT_VERSION_H
#define HUBCHAT_VERSION_H

#define HUBCHAT_VERSION "0.2.0"

#endif
