using Microsoft.Win32.SafeHandles;
using Sandbox.Interop.Libc;
using Sandbox.Protocol;

namespace Sandbox.Init;

/// <summary>
/// A guest's workload gets its own pid namespace, as a container's does: the guest's PID 1 (<see cref="GuestBoot"/>)
/// spawns a second sandbox-init, <c>/sandbox-init guest-workload</c>, as PID 1 of a new pid, mount and cgroup
/// namespace inside the workload's cgroup, and that one builds the workload's world exactly as in a container
/// (<see cref="Workload"/>). So <c>ps</c> in the workload lists sandbox-init as PID 1 and no kernel threads, and
/// <c>/proc/self/cgroup</c> reads <c>0::/</c>. fd 3 is the virtio-serial port (the frames), fd 4 a pipe carrying the
/// InitSpec the guest's PID 1 already read.
/// </summary>
internal static class GuestWorkloadInit
{
    public const string Command = "guest-workload";
    private const string Path = "/sandbox-init";
    private const int PortFd = 3, SpecFd = 4;

    /// <summary>The argument a prespawned workload init gets after <see cref="Command"/>.</summary>
    private const string PrespawnedArgument = "prespawned";

    /// <summary>
    /// The kernel.pid_max a warm pool member sets before it prespawns (what the host sends, MicroVmRuntime.GuestPidMax):
    /// on Linux 6.14 and later a new pid namespace takes its pid_max from its parent when it is created.
    /// </summary>
    private const long PrespawnPidMax = 4194304;

    /// <summary>
    /// A workload init a warm pool member started at boot (<see cref="Prespawn"/>): its .NET runtime is up and it blocks
    /// reading its spec, so a claimed member's run does not pay a second process start under TCG.
    /// </summary>
    internal sealed class Prespawned(SandboxNative.SpawnedInit child, SafeFd specWrite)
    {
        public SandboxNative.SpawnedInit Child { get; } = child;
        public SafeFd SpecWrite { get; } = specWrite;

        /// <summary>Not used for this run (a spec it was not made for): killed and reaped, so that one is spawned afresh.</summary>
        public void Discard()
        {
            using (Child)
            using (SpecWrite)
            {
                Processes.Kill(Child.Pid, Processes.SIGKILL);
                Processes.Wait(Child.Pid);
            }
        }
    }

    /// <summary>
    /// Guest PID 1 of a warm pool member, before it says Hello: the workload's init in its namespaces and the (limitless)
    /// workload group, waiting for its spec. Nothing of a run is in it: the root, the limits, the identity and the workload
    /// come with Start, and the guest still serves one workload ever. / is made a shared mount first, so that the root
    /// PID 1 mounts at Start (erofs, the run's fresh tmpfs, the overlay) propagates into the child's mount namespace; the
    /// child makes its mounts private again before it uses them.
    /// </summary>
    public static Prespawned Prespawn(SafeFileHandle port)
    {
        Workload.Try(InitFailure.Other, $"set kernel.pid_max to {PrespawnPidMax}", () => SetPidMax(PrespawnPidMax));
        GuestCgroup.Create(new GuestLimits());
        Workload.Try(InitFailure.Rootfs, "make / shared", () => Mounts.Mount(null, "/", null, Mounts.MS_SHARED));
        var (child, specWrite) = SpawnInto(port, privileged: false, prespawned: true);
        return new Prespawned(child, specWrite);
    }

    /// <summary>Guest PID 1: limits, then the workload's init in its namespaces; returns its exit code.</summary>
    public static int Spawn(InitSpec spec, InitChannel channel, SafeFileHandle port, Prespawned? prespawned)
    {
        // A prespawned init serves every run a member's shape allows, except one whose namespaces differ.
        if (prespawned is not null && (spec.Privileged || (spec.PidMax > 0 && spec.PidMax != PrespawnPidMax)))
        {
            prespawned.Discard();
            prespawned = null;
        }
        SandboxNative.SpawnedInit child;
        SafeFd specWrite;
        if (prespawned is not null)
        {
            GuestCgroup.SetLimits(spec.GuestLimits ?? new GuestLimits());
            (child, specWrite) = (prespawned.Child, prespawned.SpecWrite);
        }
        else
        {
            if (spec.PidMax > 0) Workload.Try(InitFailure.Other, $"set kernel.pid_max to {spec.PidMax}", () => SetPidMax(spec.PidMax));
            GuestCgroup.Create(spec.GuestLimits ?? new GuestLimits());
            (child, specWrite) = SpawnInto(port, spec.Privileged, prespawned: false);
        }
        using (child)
        {
            // Before the spec: the workload's init writes to the same port once it has it (one writer at a time).
            if (spec.TraceBoot) channel.SendMark(MarkKind.WorkloadInitSpawned, Processes.MonotonicNs());
            try
            {
                using (specWrite) Files.WriteAll(specWrite, Payload.Start(spec));
            }
            catch (ErrnoException e)
            {
                // A prespawned init that died while the member waited (EPIPE): its status below says how.
                Console.Error.WriteLine($"sandbox-init: the workload's init did not take its spec: {e.Message}");
            }
            int status = Processes.Wait(child.Pid);
            if (Processes.Signaled(status, out int signal))
            {
                Console.Error.WriteLine($"sandbox-init: the workload's init was killed by signal {signal}");
                return 128 + signal;
            }
            Processes.Exited(status, out int code);
            return code;
        }
    }

    /// <summary>sbx_spawn_init into new pid, mount (and cgroup) namespaces, placed in the workload's group, released.</summary>
    private static (SandboxNative.SpawnedInit Child, SafeFd SpecWrite) SpawnInto(SafeFileHandle port, bool privileged, bool prespawned)
    {
        var (specRead, specWrite) = Files.Pipe();
        SandboxNative.SpawnedInit child;
        using (specRead)
        using (var console = Files.Dup(new SafeFd(2, ownsHandle: false)))
        using (var nothing = Files.Open("/dev/null", Files.O_RDONLY))
        {
            var portFd = new SafeFd((int)port.DangerousGetHandle(), ownsHandle: false);
            string[] argv = prespawned ? [Path, Command, PrespawnedArgument] : [Path, Command];
            child = Workload.Try(InitFailure.Other, "start the workload's init", () => SandboxNative.SpawnInit(Path,
                argv, ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "DOTNET_GCgen0size=0x200000"],
                [nothing, console, console, portFd, specRead],
                SandboxNative.CLONE_NEWPID | SandboxNative.CLONE_NEWNS |
                // --privileged: the workload gets the guest's cgroup tree (to run containers in it).
                (privileged ? 0 : SandboxNative.CLONE_NEWCGROUP)));
            GC.KeepAlive(port);
        }
        try
        {
            GuestCgroup.AddProcess(child.Pid);
            // The OOM killer should pick the workload, not its init (as in a container).
            try { File.WriteAllText($"/proc/{child.Pid}/oom_score_adj", "-999"); } catch (IOException) { }
            Workload.Try(InitFailure.Other, "start the workload's init", child.Release);
        }
        catch
        {
            Processes.Kill(child.Pid, Processes.SIGKILL);
            Processes.Wait(child.Pid);
            child.Dispose();
            specWrite.Dispose();
            throw;
        }
        return (child, specWrite);
    }

    /// <summary>One write(2) of the number, then read back: a sysctl that did not take is an error, not a surprise.</summary>
    private static void SetPidMax(long value)
    {
        const string path = "/proc/sys/kernel/pid_max";
        using (var fd = Files.Open(path, Files.O_WRONLY))
            Files.WriteAll(fd, System.Text.Encoding.ASCII.GetBytes(value + "\n"));
        var now = File.ReadAllText(path).Trim();
        if (now != value.ToString()) throw new IOException($"{path} reads {now} after writing {value}");
    }

    /// <summary>
    /// The guest boots with <c>norandmaps</c> so that both inits share qemu's translated code (DomainDefinition); from
    /// here on every exec (the workload, exec'd processes) is randomized again, as the kernel's default is.
    /// </summary>
    private static void EnableAslr()
    {
        using var fd = Files.Open("/proc/sys/kernel/randomize_va_space", Files.O_WRONLY);
        Files.WriteAll(fd, "2\n"u8);
    }

    /// <summary>The workload's init: PID 1 of the workload's pid namespace.</summary>
    public static int Run(string[] args)
    {
        long started = Processes.MonotonicNs();
        bool prespawned = args.Length > 1 && args[1] == PrespawnedArgument;
        var port = new SafeFileHandle(PortFd, ownsHandle: true);
        var channel = new InitChannel(new FileStream(port, FileAccess.Read, 0), new FileStream(port, FileAccess.Write, 0)) { Port = port, HostSeen = true };
        InitSpec spec;
        try
        {
            using var specStream = new FileStream(new SafeFileHandle(SpecFd, ownsHandle: true), FileAccess.Read, 0);
            using var buffer = new MemoryStream();
            specStream.CopyTo(buffer);
            spec = Payload.ReadStart(buffer.ToArray());
            // Prespawned at boot, long before this run: its step starts when the spec came.
            if (prespawned) started = Processes.MonotonicNs();
        }
        catch (Exception e) when (e is IOException or ProtocolException or System.Text.Json.JsonException)
        {
            channel.SendError(InitFailure.Spec, 0, "the workload's init got no spec from the guest's init: " + e.Message);
            return 125;
        }
        if (spec.TraceBoot) channel.SendMark(MarkKind.WorkloadInitStarted, started);
        try
        {
            Workload.Try(InitFailure.Other, "turn address space randomization back on", EnableAslr);
            // In a warm pool member / is shared (Prespawn), so this namespace is a copy of a shared / whichever way this
            // init was spawned: what it mounts from here on stays its own (and the root switch's MS_MOVE needs it).
            Workload.Try(InitFailure.Rootfs, "make / private", () => Mounts.Mount(null, "/", null, Mounts.MS_REC | Mounts.MS_PRIVATE));
        }
        catch (InitSetupException e)
        {
            channel.SendError(e.Failure, e.Errno, e.Message);
            return e.ExitCode;
        }
        GuestCgroup.OpenEvents();
        int code = Workload.Run(spec, channel, GuestBoot.NewRoot, RootSwitch.MoveAndChroot, StdioMode.Channel);
        Processes.ExitNow(code);
        return code;
    }
}
