/*
 * web_assets.h - the page's files (web/), built into the binary so that
 * one binary is the whole deployment: the Makefile runs build/embed over
 * web/index.html, web/app.js and web/style.css, which writes
 * build/web_assets.c with their bytes.
 */
#ifndef HUBCHAT_WEB_ASSETS_H
#define HUBCHAT_WEB_ASSETS_H

#include <stddef.h>

struct web_asset {
	const char *path;               /* "/", "/app.js", ... */
	const char *type;               /* its Content-Type */
	const unsigned char *data;
	size_t len;
};

extern const struct web_asset web_assets[];
extern const size_t web_nassets;

#endif
