using System.Runtime.InteropServices;

namespace Sandbox.Interop.Libc;

/// <summary>
/// <c>posix_spawn(3)</c> for starting a process from a multithreaded .NET process without running managed code in
/// the child: glibc's implementation is clone(CLONE_VM|CLONE_VFORK) + the file actions + execve, all in libc.
/// </summary>
public static unsafe partial class Spawn
{
    private const short POSIX_SPAWN_SETSIGDEF = 0x04, POSIX_SPAWN_SETSIGMASK = 0x08, POSIX_SPAWN_SETSID = 0x80;

    [LibraryImport(Libraries.LibC)] private static partial int posix_spawn_file_actions_init(void* actions);
    [LibraryImport(Libraries.LibC)] private static partial int posix_spawn_file_actions_destroy(void* actions);
    [LibraryImport(Libraries.LibC)] private static partial int posix_spawn_file_actions_adddup2(void* actions, int fd, int newfd);
    [LibraryImport(Libraries.LibC)] private static partial int posix_spawn_file_actions_addclose(void* actions, int fd);
    [LibraryImport(Libraries.LibC)] private static partial int posix_spawnattr_init(void* attr);
    [LibraryImport(Libraries.LibC)] private static partial int posix_spawnattr_destroy(void* attr);
    [LibraryImport(Libraries.LibC)] private static partial int posix_spawnattr_setflags(void* attr, short flags);
    [LibraryImport(Libraries.LibC)] private static partial int posix_spawnattr_setsigmask(void* attr, void* set);
    [LibraryImport(Libraries.LibC)] private static partial int posix_spawnattr_setsigdefault(void* attr, void* set);
    [LibraryImport(Libraries.LibC)] private static partial int sigemptyset(void* set);
    [LibraryImport(Libraries.LibC)] private static partial int sigfillset(void* set);
    [LibraryImport(Libraries.LibC)] private static partial int posix_spawn(int* pid, byte* path, void* actions, void* attr, byte** argv, byte** envp);

    /// <summary>
    /// Starts <paramref name="path"/> in a new session (<c>setsid</c>: no controlling terminal, its own process group,
    /// so the caller's Ctrl-C and hang-up do not reach it) with default signal dispositions and an empty signal mask.
    /// <paramref name="fds"/> become the child's fds 0, 1, 2, 3, …; every other fd of ours is close-on-exec.
    /// </summary>
    public static int StartInNewSession(string path, IReadOnlyList<string> argv, IReadOnlyList<string> env, IReadOnlyList<SafeFd> fds)
    {
        var actions = stackalloc byte[256];
        var attr = stackalloc byte[512];
        var sigset = stackalloc byte[128];
        var strings = new List<IntPtr>();
        byte* Utf8(string s)
        {
            var p = Marshal.StringToCoTaskMemUTF8(s);
            strings.Add(p);
            return (byte*)p;
        }
        var argvPtr = stackalloc byte*[argv.Count + 1];
        var envPtr = (byte**)NativeMemory.Alloc((nuint)(env.Count + 1), (nuint)sizeof(byte*));
        bool refs = false;
        var added = new List<SafeFd>();
        try
        {
            for (int i = 0; i < argv.Count; i++) argvPtr[i] = Utf8(argv[i]);
            argvPtr[argv.Count] = null;
            for (int i = 0; i < env.Count; i++) envPtr[i] = Utf8(env[i]);
            envPtr[env.Count] = null;
            Check(posix_spawn_file_actions_init(actions), "posix_spawn_file_actions_init");
            Check(posix_spawnattr_init(attr), "posix_spawnattr_init");
            foreach (var fd in fds)
            {
                bool r = false;
                fd.DangerousAddRef(ref r);
                added.Add(fd);
            }
            refs = true;
            // Two steps so that no source fd is overwritten before it is copied: all up high, then down into place.
            for (int i = 0; i < fds.Count; i++) Check(posix_spawn_file_actions_adddup2(actions, fds[i].Fd, 900 + i), "adddup2");
            for (int i = 0; i < fds.Count; i++)
            {
                Check(posix_spawn_file_actions_adddup2(actions, 900 + i, i), "adddup2");
                Check(posix_spawn_file_actions_addclose(actions, 900 + i), "addclose");
            }
            sigemptyset(sigset);
            Check(posix_spawnattr_setsigmask(attr, sigset), "setsigmask");
            sigfillset(sigset);
            Check(posix_spawnattr_setsigdefault(attr, sigset), "setsigdefault");
            Check(posix_spawnattr_setflags(attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF), "setflags");
            int pid;
            int err = posix_spawn(&pid, Utf8(path), actions, attr, argvPtr, envPtr);
            if (err != 0) throw new ErrnoException(err, "posix_spawn", path);
            return pid;
        }
        finally
        {
            posix_spawn_file_actions_destroy(actions);
            posix_spawnattr_destroy(attr);
            if (refs) foreach (var fd in added) fd.DangerousRelease();
            foreach (var p in strings) Marshal.FreeCoTaskMem(p);
            NativeMemory.Free(envPtr);
        }
    }

    private static void Check(int err, string call)
    {
        if (err != 0) throw new ErrnoException(err, call);
    }
}
