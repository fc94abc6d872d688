/*
 * sso-broker: corpus replay driver for the fuzz targets.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Linked with one fuzz_<target>.c instead of libFuzzer, so `make check`
 * runs every stored input (seeds and every crash ever found) through the
 * same entry point without clang.  Reads $CORPUS_DIR/<target>/ (files
 * ending in .expect or .md are notes, not inputs).
 * Trust: corpus files are hostile inputs by design.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
replay_file(const char *path)
{
	FILE		*f;
	struct stat	 st;
	uint8_t		*buf;
	size_t		 n;

	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
		return 0;
	if ((f = fopen(path, "rb")) == NULL)
		return -1;
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		fclose(f);
		return -1;
	}
	n = fread(buf, 1, (size_t)st.st_size, f);
	fclose(f);
	LLVMFuzzerTestOneInput(buf, n);
	free(buf);
	return 1;
}

static int
replay_skip(const char *name)
{
	size_t	 n = strlen(name);

	return name[0] == '.' || (n > 7 && strcmp(name + n - 7, ".expect") == 0) ||
	    (n > 3 && strcmp(name + n - 3, ".md") == 0);
}

int
main(int argc, char *argv[])
{
	const char	*base = getenv("CORPUS_DIR");
	char		 dir[4096], path[8192];
	DIR		*d;
	struct dirent	*e;
	int		 n = 0, i, r;

	if (argc > 1) {		/* explicit files, like libFuzzer */
		for (i = 1; i < argc; i++)
			if (replay_file(argv[i]) < 0) {
				fprintf(stderr, "replay: cannot read %s\n", argv[i]);
				return 1;
			}
		printf("replayed %d inputs\n", argc - 1);
		return 0;
	}
	snprintf(dir, sizeof(dir), "%s/%s", base ? base : "tests/corpus", FUZZ_TARGET);
	if ((d = opendir(dir)) == NULL) {
		fprintf(stderr, "replay: no corpus at %s\n", dir);
		return 1;
	}
	while ((e = readdir(d)) != NULL) {
		if (replay_skip(e->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if ((r = replay_file(path)) < 0) {
			fprintf(stderr, "replay: cannot read %s\n", path);
			closedir(d);
			return 1;
		}
		n += r;
	}
	closedir(d);
	printf("# %s: replayed %d corpus inputs without a crash\n", FUZZ_TARGET, n);
	return n > 0 ? 0 : 1;
}
