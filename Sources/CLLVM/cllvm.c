// The C side of nnc's use of LLVM: target initialization, the fatal-error handler, the lock
// that makes forking safe, and the isolated code generation step (optimize + emit in a forked
// child process, so that LLVM's fatal errors and crashes end the child, never the caller).
// docs/ARCHITECTURE.md, "Code generation", says why and what it costs.

#define _GNU_SOURCE
#include "CLLVM.h"
#include "llvm/Config/llvm-config.h"
#include "llvm-c/IRReader.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

// ---------------------------------------------------------------------------------------------
// The LLVM lock.

static pthread_rwlock_t llvm_lock;
static pthread_once_t llvm_lock_once = PTHREAD_ONCE_INIT;
static __thread unsigned shared_depth;

static void llvm_lock_init(void) {
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    // Writer preference: a fork waiting for the lock is not starved by a stream of compiles.
    // Readers then must not lock twice (a waiting writer would block the second lock), which
    // the per-thread depth below rules out.
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&llvm_lock, &attr);
    pthread_rwlockattr_destroy(&attr);
}

void cllvm_lock_shared(void) {
    if (shared_depth++ == 0) {
        pthread_once(&llvm_lock_once, llvm_lock_init);
        pthread_rwlock_rdlock(&llvm_lock);
    }
}

void cllvm_unlock_shared(void) {
    if (shared_depth > 0 && --shared_depth == 0) pthread_rwlock_unlock(&llvm_lock);
}

// ---------------------------------------------------------------------------------------------
// Fatal errors.

// The write end of the result pipe in a code generation child; -1 in every other process.
static int child_result_fd = -1;

static int write_all(int fd, const void *data, size_t size) {
    const char *p = data;
    while (size > 0) {
        ssize_t k = write(fd, p, size);
        if (k < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += k;
        size -= (size_t)k;
    }
    return 0;
}

// One record of the child's protocol: a tag byte, the payload's length (8 bytes, native
// order), the payload.
static int write_record(int fd, char tag, const void *data, size_t size) {
    unsigned char header[9];
    uint64_t n = size;
    header[0] = (unsigned char)tag;
    memcpy(header + 1, &n, 8);
    if (write_all(fd, header, 9) != 0) return -1;
    return size ? write_all(fd, data, size) : 0;
}

enum {
    TAG_OBJECT = 'O',
    TAG_ASSEMBLY = 'A',
    TAG_IR = 'I',
    TAG_DIAGNOSTIC = 'D',
    TAG_FAILURE = 'E',
    TAG_FATAL = 'F',
    TAG_END = 'Z',
};

// LLVM calls this from report_fatal_error, then exits the process itself (a handler cannot
// return to the code that failed). In a code generation child it hands the reason to the
// parent and ends the child; in any other process (the IR construction in the caller) it
// can only say what happened before LLVM exits.
static void fatal_error_handler(const char *reason) {
    if (!reason) reason = "(no reason given)";
    if (child_result_fd >= 0) {
        (void)write_record(child_result_fd, TAG_FATAL, reason, strlen(reason));
        _exit(CLLVM_FATAL_EXIT);
    }
    static const char head[] = "error: LLVM: ";
    static const char tail[] = " (nnc could not recover; please report)\n";
    (void)!write(2, head, sizeof head - 1);
    (void)!write(2, reason, strlen(reason));
    (void)!write(2, tail, sizeof tail - 1);
}

LLVMBool cllvm_initialize_native(void) {
    cllvm_lock_shared();
    LLVMBool failed = LLVMInitializeNativeTarget() || LLVMInitializeNativeAsmPrinter() ||
                      LLVMInitializeNativeAsmParser();
    if (!failed) LLVMInstallFatalErrorHandler(fatal_error_handler);
    cllvm_unlock_shared();
    return failed;
}

const char *cllvm_version_string(void) {
    return LLVM_VERSION_STRING;
}

// ---------------------------------------------------------------------------------------------
// The child.

static void child_diagnostic(LLVMDiagnosticInfoRef info, void *unused) {
    (void)unused;
    if (LLVMGetDiagInfoSeverity(info) != LLVMDSError) return;
    char *text = LLVMGetDiagInfoDescription(info);
    if (text) {
        (void)write_record(child_result_fd, TAG_DIAGNOSTIC, text, strlen(text));
        LLVMDisposeMessage(text);
    }
}

static int emit_record(LLVMTargetMachineRef tm, LLVMModuleRef module, LLVMCodeGenFileType type,
                       char tag) {
    char *error = NULL;
    LLVMMemoryBufferRef buffer = NULL;
    if (LLVMTargetMachineEmitToMemoryBuffer(tm, module, type, &error, &buffer)) {
        char text[1024];
        snprintf(text, sizeof text, "LLVM code generation failed: %s", error ? error : "?");
        if (error) LLVMDisposeMessage(error);
        (void)write_record(child_result_fd, TAG_FAILURE, text, strlen(text));
        return -1;
    }
    int rc = write_record(child_result_fd, tag, LLVMGetBufferStart(buffer), LLVMGetBufferSize(buffer));
    LLVMDisposeMemoryBuffer(buffer);
    return rc;
}

// Runs in the forked child and never returns. Only C and LLVM run here: the parent may have
// had other threads inside the Swift runtime when it forked.
static void child_main(const cllvm_codegen_request *request, int result_fd, int error_fd) {
    // Crashes end the child with their signal (the parent names it), not in a handler
    // inherited from the parent (a crash reporter there could run code of the parent's).
    static const int crash_signals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGSYS};
    for (size_t i = 0; i < sizeof crash_signals / sizeof crash_signals[0]; i++)
        signal(crash_signals[i], SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    // Keep only stdin, stdout and stderr (both to the parent, which reads what LLVM prints
    // itself) and the result pipe: holding other descriptors (another thread's pipes) would
    // delay their EOF.
    if (result_fd < 3) result_fd = fcntl(result_fd, F_DUPFD, 3);
    if (result_fd < 0 || dup2(error_fd, 2) < 0 || dup2(error_fd, 1) < 0) _exit(CLLVM_SETUP_EXIT);
    if (result_fd > 3) (void)close_range(3, (unsigned)result_fd - 1, 0);
    if (close_range((unsigned)result_fd + 1, ~0U, 0) != 0) {
        struct rlimit limit;
        long last = getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < 65536 ? (long)limit.rlim_cur : 65536;
        for (long fd = result_fd + 1; fd < last; fd++) close((int)fd);
    }
    child_result_fd = result_fd;

    if (request->test_signal) {
        struct rlimit no_core = {0, 0};
        (void)setrlimit(RLIMIT_CORE, &no_core);
        raise(request->test_signal);
    }

    LLVMModuleRef module = request->module;
    LLVMTargetMachineRef tm = request->target_machine;
    LLVMContextSetDiagnosticHandler(LLVMGetModuleContext(module), child_diagnostic, NULL);

    if (request->optimize) {
        LLVMPassBuilderOptionsRef options = LLVMCreatePassBuilderOptions();
        LLVMPassBuilderOptionsSetLoopVectorization(options, 1);
        LLVMPassBuilderOptionsSetSLPVectorization(options, 1);
        LLVMPassBuilderOptionsSetLoopUnrolling(options, 1);
        LLVMPassBuilderOptionsSetLoopInterleaving(options, 1);
        LLVMErrorRef error = LLVMRunPasses(module, "default<O3>", tm, options);
        LLVMDisposePassBuilderOptions(options);
        if (error) {
            char *message = LLVMGetErrorMessage(error);
            char text[1024];
            snprintf(text, sizeof text, "LLVM O3 failed: %s", message ? message : "?");
            LLVMDisposeErrorMessage(message);
            (void)write_record(result_fd, TAG_FAILURE, text, strlen(text));
            (void)write_record(result_fd, TAG_END, NULL, 0);
            _exit(0);
        }
    }
    if (request->emit_llvm_ir) {
        char *text = LLVMPrintModuleToString(module);
        if (write_record(result_fd, TAG_IR, text, strlen(text)) != 0) _exit(CLLVM_SETUP_EXIT);
        LLVMDisposeMessage(text);
    }
    if (request->emit_assembly) {
        // Code generation changes the module it runs on: the object is emitted from the original.
        LLVMModuleRef clone = LLVMCloneModule(module);
        int rc = emit_record(tm, clone, LLVMAssemblyFile, TAG_ASSEMBLY);
        LLVMDisposeModule(clone);
        if (rc != 0) {
            (void)write_record(result_fd, TAG_END, NULL, 0);
            _exit(0);
        }
    }
    if (request->emit_object) (void)emit_record(tm, module, LLVMObjectFile, TAG_OBJECT);
    if (write_record(result_fd, TAG_END, NULL, 0) != 0) _exit(CLLVM_SETUP_EXIT);
    _exit(0);
}

// ---------------------------------------------------------------------------------------------
// The parent.

// Warm-up. A forked child has only the forking thread, and glibc does not reset every lock at
// fork: if another thread of the parent held the lock of the atexit list (`__exit_funcs_lock`)
// at that moment, a child that registers an exit handler blocks forever. LLVM registers one the
// first time a function-local static with a destructor is reached (`llvm::errs()`, which the
// pass pipeline's instrumentation asks for, and others on the code generation path). So before
// the first fork the parent runs the whole step once, in process, on a small module with a
// vectorizable loop and a libm call: every such static the step reaches is then initialized,
// and children inherit them. The watchdog below catches what this misses.
static const char warm_up_ir[] =
    "define void @warm(float* noalias %a, float* noalias %b, i64 %n) {\n"
    "entry:\n  %c = icmp sgt i64 %n, 0\n  br i1 %c, label %loop, label %exit\n"
    "loop:\n  %i = phi i64 [ 0, %entry ], [ %j, %loop ]\n"
    "  %p = getelementptr inbounds float, float* %a, i64 %i\n  %x = load float, float* %p\n"
    "  %e = call float @expf(float %x)\n  %m = fmul float %e, %x\n"
    "  %q = getelementptr inbounds float, float* %b, i64 %i\n  store float %m, float* %q\n"
    "  %j = add nuw nsw i64 %i, 1\n  %d = icmp eq i64 %j, %n\n  br i1 %d, label %exit, label %loop\n"
    "exit:\n  ret void\n}\ndeclare float @expf(float)\n";

static int warmed_up;

// Runs with the LLVM lock held exclusively (no other thread is in LLVM).
static void warm_up(LLVMTargetMachineRef tm) {
    if (warmed_up) return;
    warmed_up = 1;
    LLVMContextRef ctx = LLVMContextCreate();
    LLVMMemoryBufferRef buffer =
        LLVMCreateMemoryBufferWithMemoryRangeCopy(warm_up_ir, sizeof warm_up_ir - 1, "warm-up");
    LLVMModuleRef module = NULL;
    char *message = NULL;
    if (LLVMParseIRInContext(ctx, buffer, &module, &message) == 0 && module) {
        char *triple = LLVMGetTargetMachineTriple(tm);
        LLVMSetTarget(module, triple);
        LLVMDisposeMessage(triple);
        LLVMPassBuilderOptionsRef options = LLVMCreatePassBuilderOptions();
        LLVMPassBuilderOptionsSetLoopVectorization(options, 1);
        LLVMPassBuilderOptionsSetSLPVectorization(options, 1);
        LLVMErrorRef error = LLVMRunPasses(module, "default<O3>", tm, options);
        if (error) LLVMConsumeError(error);
        LLVMDisposePassBuilderOptions(options);
        LLVMDisposeMessage(LLVMPrintModuleToString(module));
        for (int k = 0; k < 2; k++) {
            LLVMModuleRef clone = LLVMCloneModule(module);
            LLVMMemoryBufferRef out = NULL;
            char *emit_error = NULL;
            if (!LLVMTargetMachineEmitToMemoryBuffer(tm, clone, k ? LLVMObjectFile : LLVMAssemblyFile, &emit_error, &out))
                LLVMDisposeMemoryBuffer(out);
            if (emit_error) LLVMDisposeMessage(emit_error);
            LLVMDisposeModule(clone);
        }
        LLVMDisposeModule(module);
    }
    if (message) LLVMDisposeMessage(message);
    LLVMContextDispose(ctx);
}

// CPU time (user + system, in clock ticks) the process `pid` has used, or -1.
static long long cpu_ticks(pid_t pid) {
    char path[64], text[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    if (n <= 0) return -1;
    text[n] = 0;
    // Fields after the command name (which may hold spaces) start past the last ')'.
    char *p = strrchr(text, ')');
    if (!p) return -1;
    unsigned long long utime = 0, stime = 0;
    // state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2) return -1;
    return (long long)(utime + stime);
}

typedef struct {
    unsigned char *data;
    size_t size, capacity, limit;
    int failed;  // out of memory
} growing_buffer;

// Reads what is available from `fd` into `b`; returns 0 at EOF, 1 when more may come, -1 on
// a read error. Past `limit` bytes (0: none) the rest is read and dropped.
static int read_some(int fd, growing_buffer *b) {
    unsigned char chunk[65536];
    ssize_t k = read(fd, chunk, sizeof chunk);
    if (k < 0) return errno == EINTR || errno == EAGAIN ? 1 : -1;
    if (k == 0) return 0;
    size_t n = (size_t)k;
    if (b->limit && b->size + n > b->limit) n = b->size < b->limit ? b->limit - b->size : 0;
    if (n == 0 || b->failed) return 1;
    if (b->size + n > b->capacity) {
        size_t capacity = b->capacity ? b->capacity : 65536;
        while (capacity < b->size + n) capacity *= 2;
        unsigned char *data = realloc(b->data, capacity);
        if (!data) {
            b->failed = 1;
            return 1;
        }
        b->data = data;
        b->capacity = capacity;
    }
    memcpy(b->data + b->size, chunk, n);
    b->size += n;
    return 1;
}

static char *copy_bytes(const unsigned char *data, size_t size) {
    char *out = malloc(size + 1);
    if (!out) return NULL;
    if (size) memcpy(out, data, size);
    out[size] = 0;
    return out;
}

static void set_problem(cllvm_codegen_result *result, const char *text) {
    if (!result->problem) result->problem = copy_bytes((const unsigned char *)text, strlen(text));
}

// Appends one NUL-terminated message to the result's diagnostics (messages separated by NULs).
static void add_diagnostic(cllvm_codegen_result *result, const unsigned char *data, size_t size) {
    char *grown = realloc(result->diagnostics, result->diagnostics_size + size + 1);
    if (!grown) return;
    memcpy(grown + result->diagnostics_size, data, size);
    grown[result->diagnostics_size + size] = 0;
    result->diagnostics = grown;
    result->diagnostics_size += size + 1;
}

static void parse_records(const growing_buffer *b, cllvm_codegen_result *result) {
    size_t at = 0;
    while (at < b->size) {
        if (b->size - at < 9) {
            set_problem(result, "the code generation process sent a truncated record");
            return;
        }
        char tag = (char)b->data[at];
        uint64_t n;
        memcpy(&n, b->data + at + 1, 8);
        at += 9;
        if (n > b->size - at) {
            set_problem(result, "the code generation process sent a truncated record");
            return;
        }
        const unsigned char *payload = b->data + at;
        at += n;
        switch (tag) {
        case TAG_OBJECT:
            free(result->object);
            result->object = copy_bytes(payload, n);
            result->object_size = n;
            break;
        case TAG_ASSEMBLY:
            free(result->assembly);
            result->assembly = copy_bytes(payload, n);
            result->assembly_size = n;
            break;
        case TAG_IR:
            free(result->llvm_ir);
            result->llvm_ir = copy_bytes(payload, n);
            result->llvm_ir_size = n;
            break;
        case TAG_DIAGNOSTIC: add_diagnostic(result, payload, n); break;
        case TAG_FAILURE:
            free(result->failure);
            result->failure = copy_bytes(payload, n);
            break;
        case TAG_FATAL:
            free(result->fatal_reason);
            result->fatal_reason = copy_bytes(payload, n);
            break;
        case TAG_END: result->complete = 1; break;
        default: set_problem(result, "the code generation process sent an unknown record"); return;
        }
    }
}

int cllvm_codegen_isolated(const cllvm_codegen_request *request, cllvm_codegen_result *result) {
    memset(result, 0, sizeof *result);
    result->wait_status = -1;
    pthread_once(&llvm_lock_once, llvm_lock_init);
    if (shared_depth != 0) {
        set_problem(result, "internal error: isolated code generation called while holding the LLVM lock");
        return -1;
    }
    int result_pipe[2], error_pipe[2];
    if (pipe2(result_pipe, O_CLOEXEC) != 0) {
        set_problem(result, "cannot create a pipe for the code generation process");
        return -1;
    }
    if (pipe2(error_pipe, O_CLOEXEC) != 0) {
        close(result_pipe[0]);
        close(result_pipe[1]);
        set_problem(result, "cannot create a pipe for the code generation process");
        return -1;
    }
    pid_t parent = getpid();
    // No other thread of this process is inside LLVM while it forks (they take the lock
    // shared), so the child cannot inherit a lock of LLVM's held by a thread it does not have.
    pthread_rwlock_wrlock(&llvm_lock);
    warm_up(request->target_machine);
    pid_t pid = fork();
    if (pid == 0) {
        // Ends the child with the parent (unless it already ended before this call).
        (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(CLLVM_SETUP_EXIT);
        close(result_pipe[0]);
        close(error_pipe[0]);
        child_main(request, result_pipe[1], error_pipe[1]);
    }
    int fork_errno = errno;
    pthread_rwlock_unlock(&llvm_lock);
    close(result_pipe[1]);
    close(error_pipe[1]);
    if (pid < 0) {
        close(result_pipe[0]);
        close(error_pipe[0]);
        char text[256];
        snprintf(text, sizeof text, "cannot start the code generation process: fork: %s", strerror(fork_errno));
        set_problem(result, text);
        return -1;
    }

    // Read both pipes until both end: the child may write megabytes of artifacts and of
    // messages, and blocks while a pipe is full.
    growing_buffer records = {0}, messages = {0};
    messages.limit = 1 << 20;
    int read_failed = 0;
    struct pollfd fds[2] = {{result_pipe[0], POLLIN, 0}, {error_pipe[0], POLLIN, 0}};
    growing_buffer *buffers[2] = {&records, &messages};
    int open_count = 2;
    long long last_ticks = -1;
    int idle_seconds = 0;
    while (open_count > 0) {
        int k = poll(fds, 2, 1000);
        if (k < 0) {
            if (errno == EINTR) continue;
            read_failed = 1;
            break;
        }
        if (k == 0) {
            // A second without output: a child that also used no CPU time is blocked (it never
            // waits for anything but a full pipe, which the parent drains).
            long long ticks = cpu_ticks(pid);
            if (ticks >= 0 && ticks == last_ticks) idle_seconds++;
            else idle_seconds = 0;
            last_ticks = ticks;
            if (idle_seconds >= CLLVM_STALL_SECONDS) {
                result->stalled = 1;
                break;
            }
            continue;
        }
        idle_seconds = 0;
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            int rc = read_some(fds[i].fd, buffers[i]);
            if (rc <= 0) {
                if (rc < 0) read_failed = 1;
                close(fds[i].fd);
                fds[i].fd = -1;
                open_count--;
            }
        }
        if (records.failed || read_failed) break;
    }
    for (int i = 0; i < 2; i++)
        if (fds[i].fd >= 0) close(fds[i].fd);
    if (records.failed || read_failed || result->stalled) {
        kill(pid, SIGKILL);
        result->killed_by_parent = 1;
    }

    int status = 0;
    pid_t waited;
    do waited = waitpid(pid, &status, 0);
    while (waited < 0 && errno == EINTR);
    result->wait_status = waited == pid ? status : -1;
    result->wait_errno = waited == pid ? 0 : errno;

    if (result->stalled) set_problem(result, "the code generation process stopped making progress");
    else if (records.failed) set_problem(result, "out of memory reading the code generation process's results");
    else if (read_failed) set_problem(result, "cannot read the code generation process's results");
    else parse_records(&records, result);
    // waitpid can fail when the program reaps children itself (SIGCHLD ignored, or a
    // waitpid(-1) elsewhere): wait_status stays -1 and the records decide.
    result->messages = copy_bytes(messages.data, messages.size);
    result->messages_size = result->messages ? messages.size : 0;
    free(records.data);
    free(messages.data);
    return 0;
}

void cllvm_codegen_result_dispose(cllvm_codegen_result *result) {
    free(result->object);
    free(result->assembly);
    free(result->llvm_ir);
    free(result->diagnostics);
    free(result->failure);
    free(result->fatal_reason);
    free(result->messages);
    free(result->problem);
    memset(result, 0, sizeof *result);
}
