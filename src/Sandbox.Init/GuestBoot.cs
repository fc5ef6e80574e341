using Sandbox.Interop.Libc;
using Sandbox.Protocol;

namespace Sandbox.Init;

/// <summary>
/// Init's start as PID 1 of a micro-VM's guest kernel (see docs/microvm.md, "Boot path"). The initramfs holds only this
/// binary and its libraries. Steps: mount /dev /proc /sys, open the virtio-serial port named <see cref="PortName"/>,
/// say Hello, read Start, mount the root disk read-only with a tmpfs overlay on top, hand over to the shared
/// <see cref="Workload"/>, and reset the machine (the domain's on_reboot is destroy, the kernel's <c>reboot=t</c>
/// makes the reset a triple fault, which is quicker than an ACPI-less power-off that would only halt).
/// </summary>
internal static class GuestBoot
{
    /// <summary>The virtio-serial port's name; the host's domain XML uses the same.</summary>
    public const string PortName = "org.sandbox.init.0";

    // Where the root disk, the scratch tmpfs and the workload's root are mounted before the switch (on the initramfs).
    private const string LowerDir = "/sandbox/lower";
    private const string ScratchDir = "/sandbox/scratch";
    internal const string NewRoot = "/sandbox/root";

    // Boot steps before the channel exists, sent with a traced run's marks after Start.
    private static long s_mounted, s_portOpened;

    public static int Run(string[] args)
    {
        // Init's first instruction, as near as managed code gets to it.
        long started = Processes.MonotonicNs();
        int code = 125;
        try
        {
            MountKernelFileSystems();
            s_mounted = Processes.MonotonicNs();
            var channel = VirtioPort.Open(PortName);
            s_portOpened = Processes.MonotonicNs();
            GuestWorkloadInit.Prespawned? prespawned = null;
            if (Environment.GetEnvironmentVariable("sandbox_prewarm") == "1")
            {
                Prewarm();
                // The workload's init started now, not on the run's path (a failure here only costs the run that start).
                try { prespawned = GuestWorkloadInit.Prespawn(channel.Port!); }
                catch (InitSetupException e) { Console.Error.WriteLine($"sandbox-init: prespawn: {e.Message}"); }
            }
            channel.Send(MessageType.Hello, Payload.Hello(Processes.MonotonicNs()));
            channel.SendMark(MarkKind.InitStarted, started);

            if (channel.ReadStart() is not InitSpec spec) return code;
            long startReceived = Processes.MonotonicNs();
            try
            {
                ApplyHostState(spec);
                // A second Hello: the guest may have waited (paused) in the warm pool since the first, so the host
                // re-aligns the marks that follow to its own clock.
                channel.Send(MessageType.Hello, Payload.Hello(Processes.MonotonicNs()));
                // After that Hello: a warm member's claimer has no other alignment for them.
                if (spec.TraceBoot) TraceBoot(channel, startReceived);
                MountRoot(spec);
                if (spec.TraceBoot) channel.SendMark(MarkKind.RootMounted, Processes.MonotonicNs());
                // A bridge network: eth0 from the host's IPAM (see docs/network.md).
                if (spec.Interface is GuestInterface nic) Network.GuestNetwork.Configure(nic);
                // The workload runs under its own init in its own pid namespace and cgroup (GuestWorkloadInit).
                code = GuestWorkloadInit.Spawn(spec, channel, channel.Port!, prespawned);
            }
            catch (InitSetupException e)
            {
                channel.SendError(e.Failure, e.Errno, e.Message);
                return e.ExitCode;
            }
        }
        catch (Exception e)
        {
            // The console is the serial log the host keeps for boot-failure diagnostics.
            Console.Error.WriteLine($"sandbox-init: {e.Message}");
        }
        finally
        {
            try { Machine.Restart(); }
            catch (ErrnoException e) { Console.Error.WriteLine($"sandbox-init: {e.Message}"); }
        }
        return code;
    }

    /// <summary>
    /// A warm pool member (kernel parameter <c>sandbox_prewarm=1</c>): run the Start spec's serializer and parser once
    /// before Hello, so that TCG has translated that code before the member pauses; a claimed member's Start then costs
    /// the run the parse, not the translation (it was the largest guest step of a warm run; bench/vm-breakdown.sh).
    /// </summary>
    private static void Prewarm()
    {
        var sample = new InitSpec
        {
            Mode = InitMode.Guest, Argv = ["true"], Env = ["PATH=/usr/bin:/bin", "HOSTNAME=sandbox"], Lower = "/dev/vda",
            Rlimits = [new Rlimit { Resource = 7, Soft = 1024, Hard = 1024 }], GuestLimits = new GuestLimits { MemoryMaxBytes = 1 << 26 },
            PidMax = 4194304, RealtimeNs = 1, EntropySeed = new byte[64], ExtraHosts = ["h:127.0.0.1"],
        };
        try { Payload.ReadStart(Payload.Start(sample)); }
        catch (Exception e) when (e is ProtocolException or System.Text.Json.JsonException) { Console.Error.WriteLine($"sandbox-init: prewarm: {e.Message}"); }
    }

    /// <summary>A traced run (--timings-detail): Start's arrival and the kernel's boot marks from its log.</summary>
    private static void TraceBoot(InitChannel channel, long startReceived)
    {
        channel.SendMark(MarkKind.StartReceived, startReceived);
        channel.SendMark(MarkKind.KernelFileSystemsMounted, s_mounted);
        channel.SendMark(MarkKind.PortOpened, s_portOpened);
        try
        {
            foreach (var (kind, ns) in KernelLog.BootMarks()) channel.SendMark(kind, ns);
        }
        catch (Exception e) when (e is ErrnoException or IOException)
        {
            Console.Error.WriteLine($"sandbox-init: no boot trace from the kernel's log: {e.Message}");
        }
        channel.SendMark(MarkKind.TraceRead, Processes.MonotonicNs());
    }

    /// <summary>The wall clock and entropy of this run, from Start (a pooled guest booted long before it).</summary>
    private static void ApplyHostState(InitSpec spec)
    {
        if (spec.RealtimeNs > 0)
            Workload.Try(InitFailure.Other, "set the guest's clock", () => Clock.SetRealtime(spec.RealtimeNs));
        if (spec.EntropySeed is { Length: > 0 } seed)
        {
            // Writing to /dev/urandom mixes the bytes into the input pool (uncredited, which is all freshness needs).
            Workload.Try(InitFailure.Other, "seed the guest's entropy", () =>
            {
                using var fd = Files.Open("/dev/urandom", Files.O_WRONLY);
                Files.WriteAll(fd, seed);
            });
        }
    }

    private static void MountKernelFileSystems()
    {
        Directory.CreateDirectory("/dev");
        Mounts.Mount("devtmpfs", "/dev", "devtmpfs", Mounts.MS_NOSUID, "mode=0755");
        Directory.CreateDirectory("/proc");
        Mounts.Mount("proc", "/proc", "proc", Mounts.MS_NOSUID | Mounts.MS_NODEV | Mounts.MS_NOEXEC);
        Directory.CreateDirectory("/sys");
        Mounts.Mount("sysfs", "/sys", "sysfs", Mounts.MS_NOSUID | Mounts.MS_NODEV | Mounts.MS_NOEXEC);
    }

    /// <summary>
    /// virtio-9p mount options: 9P2000.L (uids, modes, device nodes, xattrs as Linux has them); <c>cache=mmap</c> is
    /// the least caching that allows shared writable mappings (the host's view stays current for <c>podman cp</c>);
    /// msize: as large as the 6.1 virtio transport takes (it caps 524288 at 512000), as fewer round trips matter most under TCG.
    /// </summary>
    internal const string NinePOptions = "trans=virtio,version=9p2000.L,msize=524288,cache=mmap";

    /// <summary>
    /// An OCI bundle (docs/oci-runtime.md, "Micro-VM mode"): its rootfs directory, shared by the host over virtio-9p, is
    /// the workload's root itself (no overlay: writes land in the bundle); the shares of its host bind sources are
    /// mounted under /sandbox/shares, where the bundle's mounts (rewritten by the host) bind them from.
    /// </summary>
    private static void MountShares(InitSpec spec)
    {
        foreach (var share in spec.Shares)
        {
            var target = share.IsRoot ? NewRoot : share.Target;
            Workload.Try(InitFailure.Rootfs, $"mount the 9p share {share.Tag} at {target}", () =>
            {
                Directory.CreateDirectory(target);
                Mounts.Mount(share.Tag, target, "9p", (share.ReadOnly ? Mounts.MS_RDONLY : 0) | (share.IsRoot ? 0 : Mounts.MS_NOSUID | Mounts.MS_NODEV),
                    NinePOptions);
            });
        }
    }

    /// <summary>The image's EROFS disk read-only, a tmpfs for this run's writes, and an overlay of both.</summary>
    private static void MountRoot(InitSpec spec)
    {
        if (spec.Shares.Any(s => s.IsRoot))
        {
            MountShares(spec);
            return;
        }
        var disk = string.IsNullOrEmpty(spec.Lower) ? "/dev/vda" : spec.Lower;
        Workload.Try(InitFailure.Rootfs, $"mount the root disk {disk}", () =>
        {
            Directory.CreateDirectory(LowerDir);
            Mounts.Mount(disk, LowerDir, "erofs", Mounts.MS_RDONLY);
        });
        Workload.Try(InitFailure.Rootfs, "mount the scratch tmpfs", () =>
        {
            Directory.CreateDirectory(ScratchDir);
            Mounts.Mount("scratch", ScratchDir, "tmpfs", Mounts.MS_NOSUID | Mounts.MS_NODEV, "mode=0755");
            Directory.CreateDirectory(ScratchDir + "/upper");
            Directory.CreateDirectory(ScratchDir + "/work");
        });
        // Read-only runs (--read-only) are made so by Workload, as in a container.
        Workload.Try(InitFailure.Rootfs, "mount the root overlay", () =>
        {
            Directory.CreateDirectory(NewRoot);
            Mounts.Mount("overlay", NewRoot, "overlay", Mounts.MS_NODEV,
                $"lowerdir={LowerDir},upperdir={ScratchDir}/upper,workdir={ScratchDir}/work");
        });
    }
}
