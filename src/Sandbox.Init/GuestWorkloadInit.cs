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

    /// <summary>Guest PID 1: limits, then the workload's init in its namespaces; returns its exit code.</summary>
    public static int Spawn(InitSpec spec, InitChannel channel, SafeFileHandle port)
    {
        if (spec.PidMax > 0) Workload.Try(InitFailure.Other, $"set kernel.pid_max to {spec.PidMax}", () => SetPidMax(spec.PidMax));
        GuestCgroup.Create(spec.GuestLimits ?? new GuestLimits());

        var (specRead, specWrite) = Files.Pipe();
        SandboxNative.SpawnedInit child;
        using (specRead)
        using (var console = Files.Dup(new SafeFd(2, ownsHandle: false)))
        using (var nothing = Files.Open("/dev/null", Files.O_RDONLY))
        {
            var portFd = new SafeFd((int)port.DangerousGetHandle(), ownsHandle: false);
            child = Workload.Try(InitFailure.Other, "start the workload's init", () => SandboxNative.SpawnInit(Path,
                [Path, Command], ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "DOTNET_GCgen0size=0x200000"],
                [nothing, console, console, portFd, specRead],
                SandboxNative.CLONE_NEWPID | SandboxNative.CLONE_NEWNS |
                // --privileged: the workload gets the guest's cgroup tree (to run containers in it).
                (spec.Privileged ? 0 : SandboxNative.CLONE_NEWCGROUP)));
            GC.KeepAlive(port);
        }
        using (child)
        {
            GuestCgroup.AddProcess(child.Pid);
            // The OOM killer should pick the workload, not its init (as in a container).
            try { File.WriteAllText($"/proc/{child.Pid}/oom_score_adj", "-999"); } catch (IOException) { }
            Workload.Try(InitFailure.Other, "start the workload's init", child.Release);
            // Before the spec: the workload's init writes to the same port once it has it (one writer at a time).
            if (spec.TraceBoot) channel.SendMark(MarkKind.WorkloadInitSpawned, Processes.MonotonicNs());
            using (specWrite) Files.WriteAll(specWrite, Payload.Start(spec));
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
    public static int Run()
    {
        long started = Processes.MonotonicNs();
        var port = new SafeFileHandle(PortFd, ownsHandle: true);
        var channel = new InitChannel(new FileStream(port, FileAccess.Read, 0), new FileStream(port, FileAccess.Write, 0)) { Port = port, HostSeen = true };
        InitSpec spec;
        try
        {
            using var specStream = new FileStream(new SafeFileHandle(SpecFd, ownsHandle: true), FileAccess.Read, 0);
            using var buffer = new MemoryStream();
            specStream.CopyTo(buffer);
            spec = Payload.ReadStart(buffer.ToArray());
        }
        catch (Exception e) when (e is IOException or ProtocolException or System.Text.Json.JsonException)
        {
            channel.SendError(InitFailure.Spec, 0, "the workload's init got no spec from the guest's init: " + e.Message);
            return 125;
        }
        if (spec.TraceBoot) channel.SendMark(MarkKind.WorkloadInitStarted, started);
        try { Workload.Try(InitFailure.Other, "turn address space randomization back on", EnableAslr); }
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
