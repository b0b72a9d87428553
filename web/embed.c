/*
 * embed.c - a build tool: writes C source that holds the given files'
 * bytes as web_assets (web_assets.h), for the server to serve.
 *
 *   embed FILE... > web_assets.c
 *
 * web/index.html is served as "/", any other file as "/<its name>"; the
 * Content-Type comes from the name's ending. Exits 1 when a file cannot be
 * read.
 */
#include <stdio.h>
#include <string.h>

static const char *
embed_type(const char *name)
{
	const char *dot = strrchr(name, '.');

	if (dot != NULL && strcmp(dot, ".html") == 0)
		return "text/html; charset=utf-8";
	if (dot != NULL && strcmp(dot, ".js") == 0)
		return "text/javascript; charset=utf-8";
	if (dot != NULL && strcmp(dot, ".css") == 0)
		return "text/css; charset=utf-8";
	if (dot != NULL && strcmp(dot, ".svg") == 0)
		return "image/svg+xml";
	return "application/octet-stream";
}

/* Writes one file as "static const unsigned char asset_N[] = { ... };". */
static int
embed_file(const char *path, int n)
{
	FILE *f = fopen(path, "rb");
	int c, col = 0;

	if (f == NULL) {
		perror(path);
		return -1;
	}
	printf("static const unsigned char asset_%d[] = {", n);
	while ((c = getc(f)) != EOF) {
		printf("%s%d,", col++ % 16 == 0 ? "\n\t" : " ", c);
	}
	printf("\n\t0\n};\n\n");
	fclose(f);
	return 0;
}

int
main(int argc, char **argv)
{
	printf("/* Made by build/embed from web/: do not edit. */\n"
	    "#include \"web_assets.h\"\n\n");
	for (int i = 1; i < argc; i++)
		if (embed_file(argv[i], i) != 0)
			return 1;
	printf("const struct web_asset web_assets[] = {\n");
	for (int i = 1; i < argc; i++) {
		const char *base = strrchr(argv[i], '/');
		base = base != NULL ? base + 1 : argv[i];
		printf("\t{ \"/%s\", \"%s\", asset_%d, sizeof(asset_%d) - 1 },\n",
		    strcmp(base, "index.html") == 0 ? "" : base,
		    embed_type(base), i, i);
	}
	printf("};\n\nconst size_t web_nassets = %d;\n", argc - 1);
	return 0;
}
