/* Container engines: the engine command as a list for each engine x GPU x
 * TTY x rootless x mounts, limits lowered where the host forbids them, the
 * engine choice and its precedence, the options lab run takes out, the
 * variables passed by name, container names, error texts -> KB ids, and
 * the container's exit code -> lab's status. */
#include "base/error.h"
#include "base/fsutil.h"
#include "containers/engine.h"
#include "grader/kb.h"
#include "tests/unit/testutil.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A spec as lab_engine_spec_init would fill it, with fixed values. */
static void base_spec(struct lab_container_spec *s, enum lab_engine e)
{
    memset(s, 0, sizeof *s);
    s->engine = e;
    snprintf(s->program, sizeof s->program, "%s", e == LAB_ENGINE_DOCKER ? "/usr/bin/docker" : "/usr/bin/podman");
    snprintf(s->image, sizeof s->image, "lab-course:0.1.0");
    snprintf(s->name, sizeof s->name, "lab-2.2.1-4242");
    snprintf(s->lab_id, sizeof s->lab_id, "2.2.1");
    snprintf(s->host, sizeof s->host, "box");
    s->runner_pid = 4242;
    s->uid = 1000;
    s->gid = 1001;
    snprintf(s->mounts[0].source, sizeof s->mounts[0].source, "/home/ann/course");
    snprintf(s->mounts[0].target, sizeof s->mounts[0].target, "/workspace");
    snprintf(s->mounts[1].source, sizeof s->mounts[1].source, "/home/ann/.local/share/lab");
    snprintf(s->mounts[1].target, sizeof s->mounts[1].target, "/home/ann/.local/share/lab");
    s->n_mounts = 2;
    snprintf(s->env[0].name, sizeof s->env[0].name, "LAB_HOME");
    snprintf(s->env[0].value, sizeof s->env[0].value, "/home/ann/.local/share/lab");
    snprintf(s->env[1].name, sizeof s->env[1].name, "HF_TOKEN");
    s->env[1].by_name = 1;
    s->n_env = 2;
    snprintf(s->ulimits[0].name, sizeof s->ulimits[0].name, "memlock");
    s->ulimits[0].soft = s->ulimits[0].hard = LAB_RLIM_UNLIMITED;
    snprintf(s->ulimits[1].name, sizeof s->ulimits[1].name, "stack");
    s->ulimits[1].soft = s->ulimits[1].hard = 67108864;
    s->n_ulimits = 2;
    const char *inner[] = {"lab", "run", "2.2.1", "--engine", "native", "--quick"};
    ck_assert_int_eq(lab_argv_extend(&s->inner, (char *const *)inner, 6), LAB_OK);
}

/* The command as one string of words joined by '|', for exact comparison. */
static char *joined(const struct lab_container_spec *s)
{
    struct lab_argv a = {0};
    ck_assert_int_eq(lab_engine_command(s, &a), LAB_OK);
    size_t len = 1;
    for (size_t i = 0; i < a.n; i++)
        len += strlen(a.v[i]) + 1;
    char *out = calloc(1, len);
    for (size_t i = 0; i < a.n; i++) {
        if (i)
            strcat(out, "|");
        strcat(out, a.v[i]);
    }
    ck_assert_ptr_null(a.v[a.n]);
    lab_argv_free(&a);
    return out;
}

#define LABELS "--name|lab-2.2.1-4242|--label|lab.runner-pid=4242|--label|lab.runner-host=box|--label|lab.lab=2.2.1|"
#define MOUNTS                                                                                                     \
    "--mount|type=bind,source=/home/ann/course,target=/workspace|"                                                 \
    "--mount|type=bind,source=/home/ann/.local/share/lab,target=/home/ann/.local/share/lab|-w|/workspace|"          \
    "-e|LAB_HOME=/home/ann/.local/share/lab|-e|HF_TOKEN|lab-course:0.1.0|lab|run|2.2.1|--engine|native|--quick"
#define ULIMITS "--ulimit|memlock=-1|--ulimit|stack=67108864|"

START_TEST(test_docker_gpu_tty)
{
    struct lab_container_spec s;
    base_spec(&s, LAB_ENGINE_DOCKER);
    s.gpu = 1;
    s.tty = 1;
    char *cmd = joined(&s);
    ck_assert_str_eq(cmd, "/usr/bin/docker|run|--rm|--gpus|all|--ipc=host|" ULIMITS "-it|" LABELS
                          "--pull=never|--user|1000:1001|" MOUNTS);
    free(cmd);
    lab_engine_spec_free(&s);
}
END_TEST

START_TEST(test_docker_no_gpu_no_tty)
{
    struct lab_container_spec s;
    base_spec(&s, LAB_ENGINE_DOCKER);
    char *cmd = joined(&s);
    ck_assert_str_eq(cmd, "/usr/bin/docker|run|--rm|--ipc=host|" ULIMITS LABELS "--pull=never|--user|1000:1001|" MOUNTS);
    ck_assert_ptr_null(strstr(cmd, "-it"));
    ck_assert_ptr_null(strstr(cmd, "gpus"));
    free(cmd);
    lab_engine_spec_free(&s);
}
END_TEST

START_TEST(test_docker_rootless_has_no_user)
{
    struct lab_container_spec s;
    base_spec(&s, LAB_ENGINE_DOCKER);
    s.rootless = 1;
    char *cmd = joined(&s);
    ck_assert_ptr_null(strstr(cmd, "--user"));
    ck_assert_ptr_null(strstr(cmd, "keep-id"));
    free(cmd);
    lab_engine_spec_free(&s);
}
END_TEST

START_TEST(test_podman_cdi_rootless_tty)
{
    struct lab_container_spec s;
    base_spec(&s, LAB_ENGINE_PODMAN);
    s.gpu = 1;
    s.tty = 1;
    s.rootless = 1;
    char *cmd = joined(&s);
    ck_assert_str_eq(cmd, "/usr/bin/podman|run|--rm|--device|nvidia.com/gpu=all|--ipc=host|" ULIMITS "-it|" LABELS
                          "--pull=never|--userns=keep-id|" MOUNTS);
    free(cmd);
    lab_engine_spec_free(&s);
}
END_TEST

START_TEST(test_podman_rootful_no_gpu)
{
    struct lab_container_spec s;
    base_spec(&s, LAB_ENGINE_PODMAN);
    char *cmd = joined(&s);
    ck_assert_str_eq(cmd, "/usr/bin/podman|run|--rm|--ipc=host|" ULIMITS LABELS "--pull=never|" MOUNTS);
    free(cmd);
    lab_engine_spec_free(&s);
}
END_TEST

START_TEST(test_mount_paths_with_comma_are_refused)
{
    struct lab_container_spec s;
    base_spec(&s, LAB_ENGINE_DOCKER);
    snprintf(s.mounts[0].source, sizeof s.mounts[0].source, "/home/ann/a,b");
    struct lab_argv a = {0};
    ck_assert_int_eq(lab_engine_command(&s, &a), LAB_EUSAGE);
    ck_assert_ptr_nonnull(strstr(lab_err_message(), "','"));
    lab_argv_free(&a);
    /* ':' is fine: --mount has no ':' syntax (unlike -v). */
    ck_assert_int_eq(lab_engine_check_mount_path("/home/ann/x:y", "dir"), LAB_OK);
    ck_assert_int_eq(lab_engine_check_mount_path("relative/dir", "dir"), LAB_EUSAGE);
    ck_assert_int_eq(lab_engine_check_mount_path("/a\nb", "dir"), LAB_EUSAGE);
    lab_engine_spec_free(&s);
}
END_TEST

START_TEST(test_ulimit_soft_hard_pair)
{
    struct lab_container_spec s;
    base_spec(&s, LAB_ENGINE_PODMAN);
    s.ulimits[1].soft = 8388608;
    char *cmd = joined(&s);
    ck_assert_ptr_nonnull(strstr(cmd, "--ulimit|stack=8388608:67108864|"));
    free(cmd);
    lab_engine_spec_free(&s);
}
END_TEST

static struct lab_host_limits roomy(void)
{
    struct lab_host_limits h = {
        .memlock = {65536, LAB_RLIM_UNLIMITED, 1},
        .stack = {8388608, LAB_RLIM_UNLIMITED, 1},
        .nofile = {1024, 1048576, 1},
        .nproc = {4096, 1048576, 1},
    };
    return h;
}

START_TEST(test_limits_as_asked_when_allowed)
{
    struct lab_host_limits h = roomy();
    struct lab_ulimit u[6];
    char warn[1024];
    size_t n = lab_limits_plan(LAB_ENGINE_PODMAN, 1, &h, u, 6, warn, sizeof warn);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(u[0].name, "memlock");
    ck_assert(u[0].soft == LAB_RLIM_UNLIMITED && u[0].hard == LAB_RLIM_UNLIMITED);
    ck_assert_str_eq(u[1].name, "stack");
    ck_assert(u[1].soft == 67108864 && u[1].hard == 67108864);
    ck_assert_str_eq(warn, "");
}
END_TEST

START_TEST(test_limits_lowered_without_capability)
{
    /* A sandboxed root or a rootless user: 8 MiB memlock, 20000 files,
     * 96551 processes, none raisable. */
    struct lab_host_limits h = {
        .memlock = {8388608, 8388608, 0},
        .stack = {8388608, LAB_RLIM_UNLIMITED, 1},
        .nofile = {20000, 20000, 0},
        .nproc = {96551, 96551, 0},
    };
    struct lab_ulimit u[6];
    char warn[1024];
    size_t n = lab_limits_plan(LAB_ENGINE_PODMAN, 1, &h, u, 6, warn, sizeof warn);
    ck_assert_uint_eq(n, 4);
    ck_assert(u[0].soft == 8388608 && u[0].hard == 8388608);
    ck_assert(u[1].soft == 67108864);
    ck_assert_str_eq(u[2].name, "nofile");
    ck_assert(u[2].soft == 20000 && u[2].hard == 20000);
    ck_assert_str_eq(u[3].name, "nproc");
    ck_assert(u[3].soft == 32768 && u[3].hard == 32768); /* podman's own cap */
    ck_assert_ptr_nonnull(strstr(warn, "--ulimit memlock"));
    ck_assert_ptr_nonnull(strstr(warn, "8 MiB"));
    ck_assert_ptr_nonnull(strstr(warn, "TS-ENGINE-LIMITS"));
    ck_assert_ptr_null(strstr(warn, "stack"));

    /* A stack hard limit under 64 MiB is lowered too. */
    h.stack = (struct lab_host_limit){8388608, 16777216, 0};
    n = lab_limits_plan(LAB_ENGINE_PODMAN, 1, &h, u, 6, warn, sizeof warn);
    ck_assert(u[1].soft == 16777216 && u[1].hard == 16777216);
    ck_assert_ptr_nonnull(strstr(warn, "--ulimit stack"));

    /* A root docker daemon sets limits itself: asked as is, no pins. */
    n = lab_limits_plan(LAB_ENGINE_DOCKER, 0, &h, u, 6, warn, sizeof warn);
    ck_assert_uint_eq(n, 2);
    ck_assert(u[0].soft == LAB_RLIM_UNLIMITED && u[1].soft == 67108864);
    ck_assert_str_eq(warn, "");
    /* Rootless docker: lowered, but docker adds no nofile/nproc of its own. */
    n = lab_limits_plan(LAB_ENGINE_DOCKER, 1, &h, u, 6, warn, sizeof warn);
    ck_assert_uint_eq(n, 2);
    ck_assert(u[0].soft == 8388608);
}
END_TEST

START_TEST(test_limits_probe_reads_this_process)
{
    struct lab_host_limits h;
    lab_limits_probe(&h);
    ck_assert(h.memlock.hard == LAB_RLIM_UNLIMITED || h.memlock.hard > 0);
    ck_assert(h.nofile.soft != 0);
    /* Asking for what is already allowed always works. */
    if (h.memlock.hard == LAB_RLIM_UNLIMITED)
        ck_assert_int_eq(h.memlock.can_set, 1);
}
END_TEST

START_TEST(test_take_args)
{
    char *argv[] = {"run", "--engine", "podman", "2.2.1", "--quick", "--image=lab-local:1", "--dry-run",
                    "--set", "seed=3", "--", "--engine", NULL};
    int argc = 11;
    struct lab_engine_args ea;
    ck_assert_int_eq(lab_engine_take_args(&argc, argv, &ea), LAB_OK);
    ck_assert_str_eq(ea.engine, "podman");
    ck_assert_str_eq(ea.image, "lab-local:1");
    ck_assert_int_eq(ea.dry_run, 1);
    ck_assert_int_eq(argc, 7);
    const char *want[] = {"run", "2.2.1", "--quick", "--set", "seed=3", "--", "--engine"};
    for (int i = 0; i < 7; i++)
        ck_assert_str_eq(argv[i], want[i]);
    ck_assert_ptr_null(argv[7]);

    char *bad[] = {"run", "2.2.1", "--engine", NULL};
    argc = 3;
    ck_assert_int_eq(lab_engine_take_args(&argc, bad, &ea), LAB_EUSAGE);
    ck_assert_ptr_nonnull(strstr(lab_err_message(), "needs a value"));
    /* --engines is not --engine */
    char *other[] = {"run", "--engines", "x", NULL};
    argc = 3;
    ck_assert_int_eq(lab_engine_take_args(&argc, other, &ea), LAB_OK);
    ck_assert_int_eq(argc, 3);
    ck_assert_ptr_null(ea.engine);
}
END_TEST

START_TEST(test_env_names_by_name_only)
{
    char *envp[] = {"HF_TOKEN=hf_secret", "LAB_LOG=debug", "LAB_HOME=/x", "LAB_CACHE=/y", "LAB_ENGINE=podman",
                    "PATH=/bin", "HF_HUB_OFFLINE=1", "LAB_MIRROR=http://m", "LAB_LOG=again", "HOME=/root",
                    "HF_HOME=/h", NULL};
    char names[16][128];
    size_t n = lab_engine_env_names(envp, names, 16);
    ck_assert_uint_eq(n, 4);
    ck_assert_str_eq(names[0], "HF_HUB_OFFLINE");
    ck_assert_str_eq(names[1], "HF_TOKEN");
    ck_assert_str_eq(names[2], "LAB_LOG");
    ck_assert_str_eq(names[3], "LAB_MIRROR");
}
END_TEST

static char *tmp;
static char saved_path[8192];

static void write_exe(const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    tu_write_file(path, "#!/bin/sh\nexit 0\n", 17);
    chmod(path, 0755);
}

static void setup_home(void)
{
    tmp = tu_tempdir();
    char home[4096], bin[4096];
    snprintf(home, sizeof home, "%s/home", tmp);
    snprintf(bin, sizeof bin, "%s/bin", tmp);
    mkdir(home, 0755);
    mkdir(bin, 0755);
    setenv("LAB_HOME", home, 1);
    snprintf(saved_path, sizeof saved_path, "%s", getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
    setenv("PATH", bin, 1); /* only the fake engines of each test */
    unsetenv("LAB_ENGINE");
    unsetenv("LAB_IMAGE");
    unsetenv("SLURM_JOB_ID"); /* the tests may run inside a Slurm job */
}

static void teardown_home(void)
{
    setenv("PATH", saved_path, 1);
    tu_rmtree(tmp);
    free(tmp);
}

static void write_config(const char *json)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/home/config.json", tmp);
    tu_write_file(path, json, strlen(json));
}

START_TEST(test_choice_precedence)
{
    char bin[4096];
    snprintf(bin, sizeof bin, "%s/bin", tmp);
    write_exe(bin, "podman");
    write_exe(bin, "docker");
    struct lab_engine_choice c;
    /* Nothing said: native, even with both engines installed. */
    ck_assert_int_eq(lab_engine_choose(NULL, NULL, &c), LAB_OK);
    ck_assert_int_eq(c.engine, LAB_ENGINE_NATIVE);
    ck_assert_str_eq(c.engine_from, "default");
    ck_assert_str_eq(c.image, LAB_COURSE_IMAGE);
    /* The config file ... */
    write_config("{\"engine\": \"docker\", \"image\": \"reg.example/lab:7\"}");
    ck_assert_int_eq(lab_engine_choose(NULL, NULL, &c), LAB_OK);
    ck_assert_int_eq(c.engine, LAB_ENGINE_DOCKER);
    ck_assert_str_eq(c.engine_from, "config.json");
    ck_assert_str_eq(c.image, "reg.example/lab:7");
    ck_assert_ptr_nonnull(strstr(c.program, "/bin/docker"));
    /* ... loses to the environment ... */
    setenv("LAB_ENGINE", "podman", 1);
    setenv("LAB_IMAGE", "lab-local:0.1.0", 1);
    ck_assert_int_eq(lab_engine_choose(NULL, NULL, &c), LAB_OK);
    ck_assert_int_eq(c.engine, LAB_ENGINE_PODMAN);
    ck_assert_str_eq(c.engine_from, "LAB_ENGINE");
    ck_assert_str_eq(c.image, "lab-local:0.1.0");
    /* ... which loses to the flags. */
    ck_assert_int_eq(lab_engine_choose("native", "x:1", &c), LAB_OK);
    ck_assert_int_eq(c.engine, LAB_ENGINE_NATIVE);
    ck_assert_str_eq(c.image_from, "--image");
    /* auto: podman first. */
    ck_assert_int_eq(lab_engine_choose("auto", NULL, &c), LAB_OK);
    ck_assert_int_eq(c.engine, LAB_ENGINE_PODMAN);
    ck_assert_str_eq(c.engine_from, "auto");
}
END_TEST

START_TEST(test_choice_errors)
{
    struct lab_engine_choice c;
    /* auto with no engine installed: native. */
    ck_assert_int_eq(lab_engine_choose("auto", NULL, &c), LAB_OK);
    ck_assert_int_eq(c.engine, LAB_ENGINE_NATIVE);
    /* Named but not installed: an error, never a silent fallback. */
    ck_assert_int_eq(lab_engine_choose("docker", NULL, &c), LAB_EENV);
    ck_assert_ptr_nonnull(strstr(lab_err_message(), "not installed"));
    ck_assert_int_eq(lab_engine_choose("kubernetes", NULL, &c), LAB_EUSAGE);
    ck_assert_int_eq(lab_engine_choose(NULL, "--privileged", &c), LAB_EUSAGE);
    ck_assert_int_eq(lab_engine_choose(NULL, "two words", &c), LAB_EUSAGE);
    write_config("{\"engin\": \"docker\"}");
    ck_assert_int_eq(lab_engine_choose(NULL, NULL, &c), LAB_EUSAGE);
    ck_assert_ptr_nonnull(strstr(lab_err_message(), "unknown key 'engin'"));
    write_config("{\"engine\": 3}");
    ck_assert_int_eq(lab_engine_choose(NULL, NULL, &c), LAB_EUSAGE);
    write_config("[1]");
    ck_assert_int_eq(lab_engine_choose(NULL, NULL, &c), LAB_EUSAGE);
}
END_TEST

START_TEST(test_spec_from_host)
{
    char bin[4096], cache[4096], hf[4096], work[4096];
    snprintf(bin, sizeof bin, "%s/bin", tmp);
    snprintf(cache, sizeof cache, "%s/cache", tmp);
    snprintf(hf, sizeof hf, "%s/hf", tmp);
    snprintf(work, sizeof work, "%s/work", tmp);
    mkdir(work, 0755);
    write_exe(bin, "podman");
    setenv("LAB_CACHE", cache, 1);
    setenv("HF_HOME", hf, 1);
    setenv("HF_TOKEN", "hf_secret_value", 1);
    setenv("LAB_LOG", "warn", 1);
    ck_assert_int_eq(chdir(work), 0);
    struct lab_engine_choice c;
    ck_assert_int_eq(lab_engine_choose("podman", "lab-local:0.1.0", &c), LAB_OK);
    char *options[] = {"--quick", "--out", "runs/../out1", "--set", "seed=1"};
    struct lab_engine_run req = {.lab_id = "2.2.1", .device = "auto", .options = options, .n_options = 5};
    struct lab_container_spec *s = calloc(1, sizeof *s);
    ck_assert_int_eq(lab_engine_spec_init(&c, &req, 0, s), LAB_OK);
    char name[64];
    snprintf(name, sizeof name, "lab-2.2.1-%d", (int)getpid());
    ck_assert_str_eq(s->name, name);
    ck_assert_int_eq(s->runner_pid, getpid());
    ck_assert_str_eq(s->mounts[0].target, "/workspace");
    char real_work[4096];
    ck_assert_ptr_nonnull(realpath(work, real_work));
    ck_assert_str_eq(s->mounts[0].source, real_work);
    /* LAB_HOME and LAB_CACHE at their own paths, created; HF at /root/... */
    char out1[4200];
    snprintf(out1, sizeof out1, "%s/out1", real_work);
    int home = 0, hf_seen = 0, out_seen = 0;
    for (size_t i = 0; i < s->n_mounts; i++) {
        home += strcmp(s->mounts[i].source, s->mounts[i].target) == 0 && strstr(s->mounts[i].source, "/home");
        hf_seen += strcmp(s->mounts[i].target, LAB_CT_HF_HOME) == 0;
        out_seen += strcmp(s->mounts[i].source, out1) == 0 && strcmp(s->mounts[i].target, out1) == 0;
    }
    ck_assert_int_eq(home, 1);
    ck_assert_int_eq(hf_seen, 1);
    ck_assert_int_eq(out_seen, 1);
    ck_assert_int_eq(access(out1, F_OK), 0); /* created on the host, by the caller */
    ck_assert_int_eq(access(cache, F_OK), 0);
    /* Secrets by name only; LAB_HOME with its value. */
    int token = 0, lab_home = 0;
    for (size_t i = 0; i < s->n_env; i++) {
        if (strcmp(s->env[i].name, "HF_TOKEN") == 0) {
            token = 1;
            ck_assert_int_eq(s->env[i].by_name, 1);
            ck_assert_str_eq(s->env[i].value, "");
        }
        if (strcmp(s->env[i].name, "LAB_HOME") == 0)
            lab_home = !s->env[i].by_name && strstr(s->env[i].value, "/home") != NULL;
    }
    ck_assert(token && lab_home);
    /* The inner command: same options, --out absolute. */
    ck_assert_uint_eq(s->inner.n, 10);
    ck_assert_str_eq(s->inner.v[0], "lab");
    ck_assert_str_eq(s->inner.v[3], "--engine");
    ck_assert_str_eq(s->inner.v[4], "native");
    ck_assert_str_eq(s->inner.v[5], "--quick");
    ck_assert_str_eq(s->inner.v[6], "--out");
    ck_assert_str_eq(s->inner.v[7], out1);
    ck_assert_str_eq(s->inner.v[9], "seed=1");
    struct lab_argv cmd = {0};
    ck_assert_int_eq(lab_engine_command(s, &cmd), LAB_OK);
    char *line = lab_argv_to_shell(&cmd);
    ck_assert_ptr_null(strstr(line, "hf_secret_value"));
    free(line);
    lab_argv_free(&cmd);
    lab_engine_spec_free(s);
    free(s);
}
END_TEST

START_TEST(test_spec_refuses_cuda_without_gpu)
{
    /* An empty LAB_DOCTOR_ROOT: no PCI devices, no /dev/nvidia*. */
    setenv("LAB_DOCTOR_ROOT", tmp, 1);
    char bin[4096];
    snprintf(bin, sizeof bin, "%s/bin", tmp);
    write_exe(bin, "docker");
    ck_assert_int_eq(lab_engine_host_gpu(), 0);
    struct lab_engine_choice c;
    ck_assert_int_eq(lab_engine_choose("docker", NULL, &c), LAB_OK);
    struct lab_engine_run req = {.lab_id = "2.2.1", .device = "cuda:0", .options = NULL, .n_options = 0};
    struct lab_container_spec *s = calloc(1, sizeof *s);
    ck_assert_int_eq(lab_engine_spec_init(&c, &req, 1, s), LAB_EENV);
    ck_assert_ptr_nonnull(strstr(lab_err_message(), "no NVIDIA GPU"));
    lab_engine_spec_free(s);
    /* A fake PCI NVIDIA device makes it a GPU host. */
    char dev[4096];
    snprintf(dev, sizeof dev, "%s/sys/bus/pci/devices/0000:01:00.0", tmp);
    ck_assert_int_eq(lab_mkdir_p(dev), LAB_OK);
    char vendor[4200];
    snprintf(vendor, sizeof vendor, "%s/vendor", dev);
    tu_write_file(vendor, "0x10de\n", 7);
    ck_assert_int_eq(lab_engine_host_gpu(), 1);
    memset(s, 0, sizeof *s);
    ck_assert_int_eq(lab_engine_spec_init(&c, &req, 1, s), LAB_OK);
    ck_assert_int_eq(s->gpu, 1);
    lab_engine_spec_free(s);
    /* In a Slurm job: its GPUs only; given none, none (and cuda is refused). */
    setenv("SLURM_JOB_ID", "17", 1);
    setenv("SLURM_JOB_GPUS", "1", 1);
    memset(s, 0, sizeof *s);
    ck_assert_int_eq(lab_engine_spec_init(&c, &req, 1, s), LAB_OK);
    ck_assert_int_eq(s->gpu, 1);
    ck_assert_str_eq(s->gpus, "1");
    lab_engine_spec_free(s);
    unsetenv("SLURM_JOB_GPUS");
    unsetenv("CUDA_VISIBLE_DEVICES");
    memset(s, 0, sizeof *s);
    ck_assert_int_eq(lab_engine_spec_init(&c, &req, 1, s), LAB_EENV);
    ck_assert_ptr_nonnull(strstr(lab_err_message(), "given no GPU"));
    ck_assert_ptr_nonnull(strstr(lab_err_fix(), "--gres gpu:1"));
    lab_engine_spec_free(s);
    struct lab_engine_run cpu = {.lab_id = "2.2.1", .device = "cpu", .options = NULL, .n_options = 0};
    memset(s, 0, sizeof *s);
    ck_assert_int_eq(lab_engine_spec_init(&c, &cpu, 1, s), LAB_OK);
    ck_assert_int_eq(s->gpu, 0);
    lab_engine_spec_free(s);
    unsetenv("SLURM_JOB_ID");
    free(s);
}
END_TEST

START_TEST(test_classify_engine_errors)
{
    lab_engine_set_kb_matcher(NULL);
    ck_assert_ptr_null(lab_engine_classify("Error: lab-course:0.1.0: image not known"));
    lab_engine_set_kb_matcher(kb_match_ids);
    ck_assert_str_eq(lab_engine_classify("docker: Cannot connect to the Docker daemon at unix:///var/run/docker.sock. "
                                         "Is the docker daemon running?\nSee 'docker run --help'."),
                     "TS-ENGINE-DAEMON");
    ck_assert_str_eq(lab_engine_classify("docker: permission denied while trying to connect to the Docker daemon "
                                         "socket at unix:///var/run/docker.sock: Post \"http://%2Fvar%2Frun%2Fdocker."
                                         "sock/v1.24/containers/create\": dial unix /var/run/docker.sock: connect: "
                                         "permission denied."),
                     "TS-ENGINE-SOCKET");
    ck_assert_str_eq(lab_engine_classify("Error: lab-course:0.1.0: image not known"), "TS-ENGINE-IMAGE-MISSING");
    ck_assert_str_eq(lab_engine_classify("docker: Error response from daemon: No such image: lab-course:0.1.0."),
                     "TS-ENGINE-IMAGE-MISSING");
    ck_assert_str_eq(lab_engine_classify("Error: runc: runc create failed: unable to start container process: exec: "
                                         "\"lab\": executable file not found in $PATH: OCI runtime attempted to "
                                         "invoke a command that was not found"),
                     "TS-ENGINE-IMAGE-MISSING");
    ck_assert_str_eq(lab_engine_classify("docker: Error response from daemon: could not select device driver \"\" "
                                         "with capabilities: [[gpu]]."),
                     "TS-CONTAINER-TOOLKIT");
    ck_assert_str_eq(lab_engine_classify("Error: setting up CDI devices: unresolvable CDI devices nvidia.com/gpu=all"),
                     "TS-ENGINE-CDI");
    ck_assert_str_eq(lab_engine_classify("Error: runc: runc create failed: unable to start container process: error "
                                         "during container init: error setting rlimits for ready process: error "
                                         "setting rlimit type 8: operation not permitted: OCI permission denied"),
                     "TS-ENGINE-LIMITS");
    ck_assert_str_eq(lab_engine_classify("Error: crun: setrlimit `RLIMIT_NOFILE`: Operation not permitted: OCI "
                                         "permission denied"),
                     "TS-ENGINE-LIMITS");
    ck_assert_ptr_null(lab_engine_classify("all fine"));
    ck_assert_ptr_null(lab_engine_classify(""));
}
END_TEST

START_TEST(test_exit_codes_come_back)
{
    lab_engine_set_kb_matcher(kb_match_ids);
    ck_assert_int_eq(lab_engine_status_for_exit(LAB_ENGINE_PODMAN, 0, ""), LAB_OK);
    ck_assert_int_eq(lab_engine_status_for_exit(LAB_ENGINE_PODMAN, 1, ""), LAB_EFAIL);
    ck_assert_int_eq(lab_engine_status_for_exit(LAB_ENGINE_PODMAN, 2, ""), LAB_EUSAGE);
    ck_assert_str_eq(lab_err_message(), ""); /* the lab inside said it already */
    ck_assert_int_eq(lab_engine_status_for_exit(LAB_ENGINE_PODMAN, 3, ""), LAB_EENV);
    ck_assert_int_eq(lab_engine_status_for_exit(LAB_ENGINE_PODMAN, 4, ""), LAB_EINTERNAL);
    ck_assert_int_eq(lab_engine_status_for_exit(LAB_ENGINE_PODMAN, 130, ""), LAB_EINTERRUPTED);
    ck_assert_int_eq(lab_exit_code(lab_engine_status_for_exit(LAB_ENGINE_PODMAN, 130, "")), 130);
    ck_assert_int_eq(lab_engine_status_for_exit(LAB_ENGINE_DOCKER, 125,
                                                "docker: Cannot connect to the Docker daemon at unix:///x.sock. Is "
                                                "the docker daemon running?\n"),
                     LAB_EENV);
    ck_assert_ptr_nonnull(strstr(lab_err_fix(), "TS-ENGINE-DAEMON"));
    ck_assert_ptr_nonnull(strstr(lab_err_message(), "Is the docker daemon running?"));
    ck_assert_int_eq(lab_engine_status_for_exit(LAB_ENGINE_DOCKER, 137, ""), LAB_EINTERNAL);
    ck_assert_int_eq(lab_engine_status_for_exit(LAB_ENGINE_DOCKER, 139, ""), LAB_EINTERNAL);
}
END_TEST

START_TEST(test_shell_quoting)
{
    struct lab_argv a = {0};
    const char *words[] = {"podman", "run", "--label", "lab.runner-host=box", "a b", "it's", "", "x;rm"};
    ck_assert_int_eq(lab_argv_extend(&a, (char *const *)words, 8), LAB_OK);
    char *line = lab_argv_to_shell(&a);
    ck_assert_str_eq(line, "podman run --label lab.runner-host=box 'a b' 'it'\\''s' '' 'x;rm'");
    free(line);
    lab_argv_free(&a);
    lab_argv_free(NULL);
}
END_TEST

START_TEST(test_ps_parse_both_engines)
{
    struct lab_ps_row rows[8];
    /* docker: one object per line, labels as "k=v,k=v", Names a string */
    const char *docker = "{\"ID\":\"abc\",\"Names\":\"lab-2.2.1-42\",\"Labels\":\"lab.lab=2.2.1,lab.runner-host=box,"
                         "lab.runner-pid=42\",\"State\":\"running\",\"Status\":\"Up 2 minutes\"}\n"
                         "not json\n"
                         "{\"Names\":\"lab-x-1\",\"Labels\":\"lab.runner-pid=-1\"}\n";
    size_t n = lab_ps_parse(docker, strlen(docker), "docker", rows, 8);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(rows[0].name, "lab-2.2.1-42");
    ck_assert_str_eq(rows[0].lab, "2.2.1");
    ck_assert_str_eq(rows[0].host, "box");
    ck_assert_int_eq(rows[0].pid, 42);
    ck_assert_str_eq(rows[0].state, "running");
    ck_assert_int_eq(rows[1].pid, 0); /* never a negative pid (kill(-1, 0) is every process) */
    /* podman: one array, labels an object, Names an array */
    const char *podman = "[{\"Id\":\"9476\",\"Names\":[\"lab-2.2.1-7\"],\"Labels\":{\"lab.runner-host\":\"vm\","
                         "\"lab.runner-pid\":\"7\",\"lab.lab\":\"2.2.1\"},\"State\":\"exited\",\"Status\":\"Exited\"}]";
    n = lab_ps_parse(podman, strlen(podman), "podman", rows, 8);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(rows[0].engine, "podman");
    ck_assert_str_eq(rows[0].name, "lab-2.2.1-7");
    ck_assert_str_eq(rows[0].host, "vm");
    ck_assert_int_eq(rows[0].pid, 7);
    ck_assert_str_eq(rows[0].state, "exited");
    ck_assert_uint_eq(lab_ps_parse("[]", 2, "podman", rows, 8), 0);
    ck_assert_uint_eq(lab_ps_parse("", 0, "docker", rows, 8), 0);
    /* at most cap rows */
    ck_assert_uint_eq(lab_ps_parse(docker, strlen(docker), "docker", rows, 1), 1);
}
END_TEST

/* A Slurm job's GPUs only (--gres gpu:N), as one CDI device each. */
START_TEST(test_slurm_job_gpus)
{
    char out[64];
    ck_assert_int_eq(lab_engine_slurm_gpus(NULL, "0,1", "0,1", out, sizeof out), 0); /* not in a job: all */
    ck_assert_str_eq(out, "");
    ck_assert_int_eq(lab_engine_slurm_gpus("17", "2,3", "0,1", out, sizeof out), 1); /* host indices first */
    ck_assert_str_eq(out, "2,3");
    ck_assert_int_eq(lab_engine_slurm_gpus("17", NULL, "GPU-5a1c-77", out, sizeof out), 1);
    ck_assert_str_eq(out, "GPU-5a1c-77");
    ck_assert_int_eq(lab_engine_slurm_gpus("17", "", "", out, sizeof out), 2); /* a job without GPUs */
    ck_assert_int_eq(lab_engine_slurm_gpus("17", NULL, NULL, out, sizeof out), 2);
    const char *bad[] = {"0,,1", ",0", "0,", "0;rm -rf", "0 1", "all"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (strcmp(bad[i], "all") == 0) /* letters are UUID characters: accepted as a name */
            continue;
        ck_assert_msg(lab_engine_slurm_gpus("17", bad[i], NULL, out, sizeof out) == LAB_EENV, "%s", bad[i]);
        ck_assert_ptr_nonnull(strstr(lab_err_message(), "SLURM_JOB_GPUS"));
    }
    char longlist[200];
    memset(longlist, '1', sizeof longlist - 1);
    longlist[sizeof longlist - 1] = 0;
    ck_assert_int_eq(lab_engine_slurm_gpus("17", longlist, NULL, out, sizeof out), LAB_EENV);

    struct lab_container_spec s;
    base_spec(&s, LAB_ENGINE_PODMAN);
    s.gpu = 1;
    snprintf(s.gpus, sizeof s.gpus, "0,2");
    char *cmd = joined(&s);
    ck_assert_str_eq(cmd, "/usr/bin/podman|run|--rm|--device|nvidia.com/gpu=0|--device|nvidia.com/gpu=2|--ipc=host|"
                          ULIMITS LABELS "--pull=never|" MOUNTS);
    free(cmd);
    lab_engine_spec_free(&s);
    base_spec(&s, LAB_ENGINE_DOCKER);
    s.gpu = 1;
    s.rootless = 1;
    snprintf(s.gpus, sizeof s.gpus, "0,2");
    cmd = joined(&s);
    ck_assert_str_eq(cmd, "/usr/bin/docker|run|--rm|--gpus|\"device=0,2\"|--ipc=host|" ULIMITS LABELS
                          "--pull=never|" MOUNTS);
    free(cmd);
    lab_engine_spec_free(&s);
}
END_TEST

START_TEST(test_containerfile_base_is_the_course_image)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/containers/Containerfile", tu_src_dir());
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "%s missing", path);
    char line[512];
    int found = 0;
    while (fgets(line, sizeof line, f))
        found |= strcmp(line, "ARG BASE=" LAB_IMAGE_BASE "\n") == 0;
    fclose(f);
    ck_assert_msg(found, "containers/Containerfile does not start from " LAB_IMAGE_BASE);
}
END_TEST

START_TEST(test_referenced_kb_entries_exist)
{
    ck_assert_int_eq(kb_load(), LAB_OK);
    const char *ids[] = {"TS-ENGINE-DAEMON", "TS-ENGINE-SOCKET", "TS-ENGINE-IMAGE-MISSING", "TS-ENGINE-CDI",
                         "TS-ENGINE-LIMITS", "TS-CONTAINER-TOOLKIT", "TS-NO-DRIVER", "TS-MEMORY-GROWTH"};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        ck_assert_msg(kb_find(ids[i]) != NULL, "%s is referenced by containers/engine*.c but missing", ids[i]);
}
END_TEST

Suite *suite_engine(void)
{
    Suite *s = suite_create("engine");
    TCase *tc = tcase_create("command");
    tcase_add_test(tc, test_docker_gpu_tty);
    tcase_add_test(tc, test_docker_no_gpu_no_tty);
    tcase_add_test(tc, test_docker_rootless_has_no_user);
    tcase_add_test(tc, test_podman_cdi_rootless_tty);
    tcase_add_test(tc, test_podman_rootful_no_gpu);
    tcase_add_test(tc, test_mount_paths_with_comma_are_refused);
    tcase_add_test(tc, test_ulimit_soft_hard_pair);
    tcase_add_test(tc, test_limits_as_asked_when_allowed);
    tcase_add_test(tc, test_limits_lowered_without_capability);
    tcase_add_test(tc, test_limits_probe_reads_this_process);
    tcase_add_test(tc, test_take_args);
    tcase_add_test(tc, test_env_names_by_name_only);
    tcase_add_test(tc, test_classify_engine_errors);
    tcase_add_test(tc, test_exit_codes_come_back);
    tcase_add_test(tc, test_shell_quoting);
    tcase_add_test(tc, test_ps_parse_both_engines);
    tcase_add_test(tc, test_slurm_job_gpus);
    tcase_add_test(tc, test_containerfile_base_is_the_course_image);
    tcase_add_test(tc, test_referenced_kb_entries_exist);
    suite_add_tcase(s, tc);
    TCase *host = tcase_create("host");
    tcase_add_checked_fixture(host, setup_home, teardown_home);
    tcase_add_test(host, test_choice_precedence);
    tcase_add_test(host, test_choice_errors);
    tcase_add_test(host, test_spec_from_host);
    tcase_add_test(host, test_spec_refuses_cuda_without_gpu);
    suite_add_tcase(s, host);
    return s;
}
