using System.Runtime.InteropServices;

namespace Sandbox.Interop.Libc;

/// <summary>
/// The C shim (native/sandbox_native.c): the clone-and-exec of sandbox-init into new namespaces (host side) and the
/// fork-and-exec of the sandboxed workload (init side). No managed code runs in those children.
/// </summary>
public static partial class SandboxNative
{
    public const ulong CLONE_NEWNS = 0x00020000, CLONE_NEWCGROUP = 0x02000000, CLONE_NEWUTS = 0x04000000,
        CLONE_NEWIPC = 0x08000000, CLONE_NEWUSER = 0x10000000, CLONE_NEWPID = 0x20000000, CLONE_NEWNET = 0x40000000;

    [StructLayout(LayoutKind.Sequential)]
    private unsafe struct SpawnArgs
    {
        public byte* Path;
        public byte** Argv;
        public byte** Envp;
        public fixed int Fds[5];
        public int FdCount;
        public ulong CloneFlags;
        public fixed int NsFds[4];
        public int NsCount;
    }

    [StructLayout(LayoutKind.Sequential)]
    private unsafe struct ExecArgs
    {
        public byte* Path;
        public byte** Argv;
        public byte** Envp;
        public byte* Cwd;
        public fixed int Stdio[3];
        public int Tty;
        public uint Uid;
        public uint Gid;
        public int NGroups;
        public uint* Groups;
        public ulong CapBounding;
        public ulong CapEffective;
        public int NoNewPrivs;
        public int OomScoreAdj;
        public ushort SeccompLen;
        public ulong* Seccomp;
        public int NRlimits;
        public Rlimit* Rlimits;
        public int ExplicitCaps;
        public ulong CapPermitted;
        public ulong CapInheritable;
        public ulong CapAmbient;
        public int Umask;
        public int NExtraFds;
        public int* ExtraFds;
    }

    /// <summary>One setrlimit for the workload (struct sbx_rlimit).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct Rlimit
    {
        public int Resource;
        private int _pad;
        public ulong Soft;
        public ulong Hard;

        public Rlimit(int resource, ulong soft, ulong hard)
        {
            Resource = resource;
            _pad = 0;
            Soft = soft;
            Hard = hard;
        }
    }

    /// <summary>
    /// Clones a child into new namespaces; it waits until <see cref="SpawnedInit.Release"/> before it execs
    /// <paramref name="path"/>. <paramref name="fds"/> become the child's fds 0..n-1 (null: closed).
    /// </summary>
    public static unsafe SpawnedInit SpawnInit(string path, IReadOnlyList<string> argv, IReadOnlyList<string> env,
        IReadOnlyList<SafeFd?> fds, ulong cloneFlags, IReadOnlyList<SafeFd>? joinNamespaces = null)
    {
        if (fds.Count > 5) throw new ArgumentException("at most 5 fds", nameof(fds));
        joinNamespaces ??= [];
        if (joinNamespaces.Count > 4) throw new ArgumentException("at most 4 namespaces to join", nameof(joinNamespaces));
        using var strings = new NativeStrings();
        var args = new SpawnArgs
        {
            Path = strings.Add(path),
            Argv = strings.AddArray(argv),
            Envp = strings.AddArray(env),
            FdCount = fds.Count,
            CloneFlags = cloneFlags,
        };
        for (int i = 0; i < fds.Count; i++) args.Fds[i] = fds[i]?.Fd ?? -1;
        for (int i = 0; i < joinNamespaces.Count; i++) args.NsFds[i] = joinNamespaces[i].Fd;
        args.NsCount = joinNamespaces.Count;
        int pidfd, releaseFd, reportFd;
        int pid = sbx_spawn_init(&args, &pidfd, &releaseFd, &reportFd);
        if (pid < 0) throw ErrnoException.FromLastError("clone", path);
        GC.KeepAlive(fds);
        GC.KeepAlive(joinNamespaces);
        return new SpawnedInit(pid, new SafeFd(pidfd), new SafeFd(releaseFd), new SafeFd(reportFd));
    }

    /// <summary>What the workload child must become before it execs.</summary>
    public sealed class WorkloadLaunch
    {
        public required string Path { get; init; }
        public required IReadOnlyList<string> Argv { get; init; }
        public required IReadOnlyList<string> Env { get; init; }
        public string? WorkingDir { get; init; }
        public required SafeFd Stdin { get; init; }
        public required SafeFd Stdout { get; init; }
        public required SafeFd Stderr { get; init; }
        public bool Tty { get; init; }
        public uint Uid { get; init; }
        public uint Gid { get; init; }
        public IReadOnlyList<uint> Groups { get; init; } = [];
        public ulong CapBounding { get; init; }
        public ulong CapEffective { get; init; }
        public bool NoNewPrivs { get; init; } = true;
        public int? OomScoreAdj { get; init; }
        /// <summary>Classic BPF instructions (struct sock_filter as u64 each); empty: no filter.</summary>
        public ulong[] Seccomp { get; init; } = [];
        /// <summary>setrlimit entries, applied before the capabilities are dropped.</summary>
        public Rlimit[] Rlimits { get; init; } = [];
        /// <summary>An OCI config's sets: permitted, inheritable and ambient as given (effective from <see cref="CapEffective"/>).</summary>
        public bool ExplicitCaps { get; init; }
        public ulong CapPermitted { get; init; }
        public ulong CapInheritable { get; init; }
        public ulong CapAmbient { get; init; }
        public uint? Umask { get; init; }
        /// <summary><c>--preserve-fds</c>: these become the workload's fds 3, 4, … (at most <see cref="MaxExtraFds"/>).</summary>
        public IReadOnlyList<SafeFd> ExtraFds { get; init; } = [];
    }

    public const int MaxExtraFds = 60;

    /// <summary>Steps of the workload child, as reported when one fails.</summary>
    public enum ExecStep
    {
        Fork = 0, Setsid = 1, Tty, Stdio, Bounding, Groups, Gid, Uid, Caps, Ambient, NoNewPrivs, WorkingDir, Seccomp, Exec, OomScore, Rlimit,
    }

    public sealed class ExecException(ExecStep step, int errno)
        : Exception($"{step}: {ErrnoException.Describe(errno)}")
    {
        public ExecStep Step { get; } = step;
        public int Errno { get; } = errno;
    }

    /// <summary>Forks and execs the workload; returns its pid once execve succeeded.</summary>
    public static unsafe int ExecWorkload(WorkloadLaunch launch)
    {
        using var strings = new NativeStrings();
        var groups = launch.Groups.ToArray();
        var filter = launch.Seccomp;
        if (filter.Length > ushort.MaxValue) throw new ArgumentException("seccomp program too long");
        if (launch.ExtraFds.Count > MaxExtraFds) throw new ArgumentException($"at most {MaxExtraFds} preserved fds");
        var extra = launch.ExtraFds.Select(fd => fd.Fd).ToArray();
        int pid, step, err;
        fixed (int* x = extra)
        fixed (uint* g = groups)
        fixed (ulong* f = filter)
        fixed (Rlimit* rl = launch.Rlimits)
        {
            var args = new ExecArgs
            {
                Path = strings.Add(launch.Path),
                Argv = strings.AddArray(launch.Argv),
                Envp = strings.AddArray(launch.Env),
                Cwd = launch.WorkingDir is null ? null : strings.Add(launch.WorkingDir),
                Tty = launch.Tty ? 1 : 0,
                Uid = launch.Uid,
                Gid = launch.Gid,
                NGroups = groups.Length,
                Groups = g,
                CapBounding = launch.CapBounding,
                CapEffective = launch.CapEffective,
                NoNewPrivs = launch.NoNewPrivs ? 1 : 0,
                OomScoreAdj = launch.OomScoreAdj ?? int.MinValue,
                SeccompLen = (ushort)filter.Length,
                Seccomp = filter.Length == 0 ? null : f,
                NRlimits = launch.Rlimits.Length,
                Rlimits = launch.Rlimits.Length == 0 ? null : rl,
                ExplicitCaps = launch.ExplicitCaps ? 1 : 0,
                CapPermitted = launch.CapPermitted,
                CapInheritable = launch.CapInheritable,
                CapAmbient = launch.CapAmbient,
                Umask = launch.Umask is uint m ? (int)m : -1,
                NExtraFds = extra.Length,
                ExtraFds = extra.Length == 0 ? null : x,
            };
            args.Stdio[0] = launch.Stdin.Fd;
            args.Stdio[1] = launch.Stdout.Fd;
            args.Stdio[2] = launch.Stderr.Fd;
            pid = sbx_exec_workload(&args, &step, &err);
        }
        GC.KeepAlive(launch);
        if (pid < 0) throw new ExecException((ExecStep)step, err);
        return pid;
    }

    /// <summary>A cloned child paused before its exec of sandbox-init.</summary>
    public sealed class SpawnedInit(int pid, SafeFd pidfd, SafeFd releaseFd, SafeFd reportFd) : IDisposable
    {
        public int Pid { get; } = pid;
        public SafeFd Pidfd { get; } = pidfd;

        /// <summary>Lets the child exec sandbox-init; throws with the failed step if it could not.</summary>
        public unsafe void Release()
        {
            int err;
            int step = sbx_release((int)releaseFd.DangerousGetHandle(), (int)reportFd.DangerousGetHandle(), &err);
            // sbx_release closed both fds.
            releaseFd.SetHandleAsInvalid();
            reportFd.SetHandleAsInvalid();
            if (step != 0)
            {
                string what = step switch { 1 => "sync", 2 => "setresuid in the user namespace", 3 => "fd set-up", 4 => "unshare(CLONE_NEWCGROUP)", 6 => "setns into a namespace path of the config", _ => "execve" };
                throw new ErrnoException(err, what, "sandbox-init child");
            }
        }

        public void Dispose()
        {
            releaseFd.Dispose();
            reportFd.Dispose();
            Pidfd.Dispose();
        }
    }

    /// <summary>UTF-8 copies of strings in unmanaged memory, freed together.</summary>
    private sealed unsafe class NativeStrings : IDisposable
    {
        private readonly List<nint> _blocks = [];

        public byte* Add(string s)
        {
            var p = Marshal.StringToCoTaskMemUTF8(s);
            _blocks.Add(p);
            return (byte*)p;
        }

        public byte** AddArray(IReadOnlyList<string> items)
        {
            var p = (byte**)Marshal.AllocCoTaskMem((items.Count + 1) * sizeof(nint));
            _blocks.Add((nint)p);
            for (int i = 0; i < items.Count; i++) p[i] = Add(items[i]);
            p[items.Count] = null;
            return p;
        }

        public void Dispose()
        {
            foreach (var b in _blocks) Marshal.FreeCoTaskMem(b);
        }
    }

    [LibraryImport(Libraries.SandboxNative, SetLastError = true)]
    private static unsafe partial int sbx_spawn_init(SpawnArgs* args, int* pidfd, int* releaseFd, int* reportFd);

    [LibraryImport(Libraries.SandboxNative)]
    private static unsafe partial int sbx_release(int releaseFd, int reportFd, int* err);

    [LibraryImport(Libraries.SandboxNative)]
    private static unsafe partial int sbx_exec_workload(ExecArgs* args, int* step, int* err);
}
