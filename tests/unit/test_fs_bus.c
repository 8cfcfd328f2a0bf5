/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The CURVE key files of a tcp bus (services/common/fs_bus.h): key pairs from
 * fs_bus_keygen() load back, secrets must be private, allow-lists parse with
 * path:line errors and comments. The directory of an ipc bus: only a private
 * one of ours (0700, not a link, safe parent) is used.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>
#include <cmocka.h>

#include "fs_bus.h"

static char dir[64];

static int make_dir(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/fs-test-bus.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *name, mode_t mode, const char *text)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

static void keygen_writes_a_pair_that_loads_back(void **state)
{
	if (!zmq_has("curve")) {
		fail_msg("this libzmq has no CURVE (zmq_has(\"curve\") is false)");
	}
	char public_key[FS_BUS_KEY_Z85 + 1], loaded[FS_BUS_KEY_Z85 + 1], secret[FS_BUS_KEY_Z85 + 1];
	char derived[FS_BUS_KEY_Z85 + 1], path[256];
	assert_int_equal(fs_bus_keygen(dir, "a", public_key), 0);
	assert_int_equal(strlen(public_key), FS_BUS_KEY_Z85);
	snprintf(path, sizeof(path), "%s/a.pub", dir);
	assert_int_equal(fs_bus_key_load(path, false, loaded), 0);
	assert_string_equal(loaded, public_key);
	snprintf(path, sizeof(path), "%s/a.secret", dir);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(fs_bus_key_load(path, true, secret), 0);
	assert_int_equal(zmq_curve_public(derived, secret), 0);
	assert_string_equal(derived, public_key); /* the secret is the pair's */
	/* never overwritten */
	assert_int_equal(fs_bus_keygen(dir, "a", NULL), -EEXIST);
	/* a public key file is a one-key allow-list */
	uint8_t(*keys)[32] = NULL;
	size_t count = 0;
	snprintf(path, sizeof(path), "%s/a.pub", dir);
	assert_int_equal(fs_bus_allow_list_load(path, &keys, &count), 0);
	assert_int_equal(count, 1);
	uint8_t binary[32];
	assert_non_null(zmq_z85_decode(binary, public_key));
	assert_memory_equal(keys[0], binary, 32);
	free(keys);
}

static void a_secret_readable_by_others_is_refused(void **state)
{
	char public_key[FS_BUS_KEY_Z85 + 1], secret_key[FS_BUS_KEY_Z85 + 1], text[128], path[256];
	char out[FS_BUS_KEY_Z85 + 1];
	assert_int_equal(zmq_curve_keypair(public_key, secret_key), 0);
	snprintf(text, sizeof(text), "# a comment\n%s\n", secret_key);
	write_file("open.secret", 0644, text);
	snprintf(path, sizeof(path), "%s/open.secret", dir);
	assert_int_equal(fs_bus_key_load(path, true, out), -EINVAL);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(fs_bus_key_load(path, true, out), 0);
	assert_string_equal(out, secret_key);
	/* a public key may be given inline; a secret only as a file */
	assert_int_equal(fs_bus_key_load(public_key, false, out), 0);
	assert_string_equal(out, public_key);
	assert_int_equal(fs_bus_key_load(secret_key, true, out), -EINVAL);
	/* not a key */
	assert_int_equal(fs_bus_key_load("tooshort", false, out), -EINVAL);
}

static void allow_lists_parse_keys_comments_and_errors(void **state)
{
	/* '#' is a Z85 digit, but no key starts with it (a 32-bit group's first
	 * digit is at most 82, '#' is 84): so '#' lines can be comments */
	char first[FS_BUS_KEY_Z85 + 1], other[FS_BUS_KEY_Z85 + 1], secret[FS_BUS_KEY_Z85 + 1];
	uint8_t max_key[32];
	memset(max_key, 0xff, sizeof(max_key));
	assert_non_null(zmq_z85_encode(first, max_key, 32));
	assert_int_equal(first[0], '%'); /* the largest possible first digit: 82 */
	assert_int_equal(zmq_curve_keypair(first, secret), 0);
	assert_int_equal(zmq_curve_keypair(other, secret), 0);
	char text[512], path[256];
	snprintf(text, sizeof(text), "# operators\n\n%s  alice's laptop\n   %s\n   # an indented comment\n", first,
		 other);
	write_file("allow.txt", 0644, text);
	snprintf(path, sizeof(path), "%s/allow.txt", dir);
	uint8_t(*keys)[32] = NULL;
	size_t count = 0;
	assert_int_equal(fs_bus_allow_list_load(path, &keys, &count), 0);
	assert_int_equal(count, 2);
	uint8_t binary[32];
	zmq_z85_decode(binary, first);
	assert_memory_equal(keys[0], binary, 32);
	zmq_z85_decode(binary, other);
	assert_memory_equal(keys[1], binary, 32);
	/* lists append: the same file twice gives four keys */
	assert_int_equal(fs_bus_allow_list_load(path, &keys, &count), 0);
	assert_int_equal(count, 4);
	/* a malformed line fails (and the caller's keys stay valid) */
	write_file("bad.txt", 0644, "# ok\nnot-a-key\n");
	snprintf(path, sizeof(path), "%s/bad.txt", dir);
	assert_int_equal(fs_bus_allow_list_load(path, &keys, &count), -EINVAL);
	assert_int_equal(count, 4);
	snprintf(path, sizeof(path), "%s/missing.txt", dir);
	assert_int_equal(fs_bus_allow_list_load(path, &keys, &count), -EINVAL);
	free(keys);
}

static const char *path_in(const char *name, char *buf, size_t size)
{
	snprintf(buf, size, "ipc://%s/%s", dir, name);
	return buf;
}

static void a_bus_directory_is_created_private_whatever_the_umask(void **state)
{
	char address[256];
	path_in("made", address, sizeof(address));
	mode_t old = umask(0);
	int fd = -1;
	assert_int_equal(fs_bus_dir_check(address, true, &fd), 0);
	umask(old);
	assert_true(fd >= 0);
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	close(fd);
	/* again, now that it exists: accepted, also by a client that does not create */
	assert_int_equal(fs_bus_dir_check(address, true, NULL), 0);
	assert_int_equal(fs_bus_dir_check(address, false, NULL), 0);
	/* a run's leftovers go, and the directory with them */
	char file[300];
	snprintf(file, sizeof(file), "%s/made/ctl", dir);
	close(open(file, O_CREAT | O_WRONLY, 0600));
	fs_bus_dir_remove(address, -1);
	assert_int_equal(access(address + 6, F_OK), -1);
	/* a missing directory: a client refuses, it never creates one */
	assert_int_equal(fs_bus_dir_check(address, false, NULL), -ENOENT);
	assert_int_equal(access(address + 6, F_OK), -1);
	/* tcp buses have no directory */
	assert_int_equal(fs_bus_dir_check("tcp://127.0.0.1:5555", false, NULL), 0);
}

static void a_bus_directory_others_could_use_is_refused(void **state)
{
	char address[200], target[256];
	/* a directory anyone may enter or write to */
	path_in("open", address, sizeof(address));
	assert_int_equal(mkdir(address + 6, 0700), 0);
	assert_int_equal(chmod(address + 6, 0777), 0);
	assert_int_equal(fs_bus_dir_check(address, true, NULL), -EACCES);
	assert_int_equal(chmod(address + 6, 0750), 0);
	assert_int_equal(fs_bus_dir_check(address, false, NULL), -EACCES);
	/* a symbolic link, even to a private directory of ours */
	path_in("private", target, sizeof(target));
	assert_int_equal(mkdir(target + 6, 0700), 0);
	path_in("link", address, sizeof(address));
	assert_int_equal(symlink(target + 6, address + 6), 0);
	assert_int_equal(fs_bus_dir_check(address, true, NULL), -ELOOP);
	assert_int_equal(fs_bus_dir_check(address, false, NULL), -ELOOP);
	/* not a directory */
	write_file("file", 0600, "x");
	path_in("file", address, sizeof(address));
	assert_int_equal(fs_bus_dir_check(address, true, NULL), -ENOTDIR);
	/* in a parent others may write to without the sticky bit: they could swap it */
	path_in("shared", address, sizeof(address));
	assert_int_equal(mkdir(address + 6, 0700), 0);
	assert_int_equal(chmod(address + 6, 0777), 0);
	snprintf(target, sizeof(target), "%s/bus", address);
	assert_int_equal(fs_bus_dir_check(target, true, NULL), -EPERM);
	assert_int_equal(chmod(address + 6, 01777), 0); /* sticky, like /tmp: fine */
	assert_int_equal(fs_bus_dir_check(target, true, NULL), 0);
}

static void a_bus_directory_of_another_user_is_refused(void **state)
{
	if (geteuid() != 0) {
		skip(); /* giving a directory away needs root; tests/integration/test_shared_machine.sh covers it */
	}
	char address[256];
	path_in("theirs", address, sizeof(address));
	assert_int_equal(mkdir(address + 6, 0700), 0);
	assert_int_equal(chown(address + 6, 65534, 65534), 0);
	assert_int_equal(fs_bus_dir_check(address, true, NULL), -EPERM);
	assert_int_equal(fs_bus_dir_check(address, false, NULL), -EPERM);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(keygen_writes_a_pair_that_loads_back),
		cmocka_unit_test(a_secret_readable_by_others_is_refused),
		cmocka_unit_test(allow_lists_parse_keys_comments_and_errors),
		cmocka_unit_test(a_bus_directory_is_created_private_whatever_the_umask),
		cmocka_unit_test(a_bus_directory_others_could_use_is_refused),
		cmocka_unit_test(a_bus_directory_of_another_user_is_refused),
	};
	return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
