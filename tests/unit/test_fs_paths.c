/* SPDX-License-Identifier: Apache-2.0 */
/* Where an installed fleetsim runs from: its prefix, found from its own place. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "fs_paths.h"

/* The part of a configured directory below the configured prefix ("/bin"). */
static const char *tail_of(const char *configured)
{
	size_t n = strlen(FS_PREFIX);
	n -= n && FS_PREFIX[n - 1] == '/';
	assert_memory_equal(configured, FS_PREFIX, n); /* the default layout: bin and libexec under the prefix */
	return configured + n;
}

static void installed_where_configured(void **state)
{
	char prefix[PATH_MAX], expected[PATH_MAX];
	snprintf(expected, sizeof(expected), "%.*s", (int)(tail_of(FS_BINDIR) - FS_BINDIR), FS_BINDIR);
	assert_true(fs_paths_prefix_of(FS_BINDIR, prefix, sizeof(prefix)));
	assert_string_equal(prefix, expected);
	assert_true(fs_paths_prefix_of(FS_LIBEXECDIR, prefix, sizeof(prefix)));
	assert_string_equal(prefix, expected);
}

/* Under a DESTDIR, or a tree moved as a whole: the prefix moves with it. */
static void installed_elsewhere(void **state)
{
	char dir[PATH_MAX], prefix[PATH_MAX];
	snprintf(dir, sizeof(dir), "/tmp/dest%s", FS_BINDIR);
	assert_true(fs_paths_prefix_of(dir, prefix, sizeof(prefix)));
	snprintf(dir, sizeof(dir), "/tmp/dest%s", FS_PREFIX);
	dir[strlen(dir) - (dir[strlen(dir) - 1] == '/')] = '\0';
	assert_string_equal(prefix, dir);

	snprintf(dir, sizeof(dir), "/opt/fleetsim%s", tail_of(FS_LIBEXECDIR));
	assert_true(fs_paths_prefix_of(dir, prefix, sizeof(prefix)));
	assert_string_equal(prefix, "/opt/fleetsim");
	snprintf(dir, sizeof(dir), "/opt/fleetsim%s", tail_of(FS_BINDIR));
	assert_true(fs_paths_prefix_of(dir, prefix, sizeof(prefix)));
	assert_string_equal(prefix, "/opt/fleetsim");
}

/* The build tree (build/services, build/viz) is no install, whatever it is called. */
static void build_tree_is_not_installed(void **state)
{
	char prefix[PATH_MAX] = "untouched";
	const char *dirs[] = { "/home/u/fleetsim/build/services", "/home/u/bin/services", "/home/u/fleetsim/build/viz",
			       "/srv/libexec/build/services", "services", "/", "." };
	for (size_t i = 0; i < sizeof(dirs) / sizeof(*dirs); i++) {
		assert_false(fs_paths_prefix_of(dirs[i], prefix, sizeof(prefix)));
	}
	assert_string_equal(prefix, "untouched");
}

/* A directory that only ends like bindir inside a name ("/x/mybin") is not bindir. */
static void only_whole_directories_match(void **state)
{
	char dir[PATH_MAX], prefix[PATH_MAX];
	const char *tail = tail_of(FS_BINDIR); /* "/bin" */
	snprintf(dir, sizeof(dir), "/x/my%s", tail + 1);
	assert_false(fs_paths_prefix_of(dir, prefix, sizeof(prefix)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(installed_where_configured),
		cmocka_unit_test(installed_elsewhere),
		cmocka_unit_test(build_tree_is_not_installed),
		cmocka_unit_test(only_whole_directories_match),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
