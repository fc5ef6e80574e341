using System.Diagnostics;
using Sandbox.Protocol;

namespace Sandbox.Init;

/// <summary>
/// Init's start as PID 1 of a micro-VM's guest kernel (see docs/microvm.md, "Boot path"). The initramfs holds only this
/// binary and its libraries. Steps: mount /dev /proc /sys, open the virtio-serial port named <see cref="PortName"/>,
/// say Hello, read Start, mount the root disk read-only with a tmpfs overlay on top, hand over to the shared
/// <see cref="Workload"/>, and reset the machine (the domain's on_reboot is destroy, the kernel's <c>reboot=t</c>
/// makes the reset a triple fault, which is quicker than an ACPI-less power-off that would only halt).
/// </summary>
internal static partial class GuestBoot
{
    /// <summary>The virtio-serial port's name; the host's domain XML uses the same.</summary>
    public const string PortName = "org.sandbox.init.0";

    /// <summary>Where the root disk, the scratch tmpfs and the workload's root are mounted before the switch.</summary>
    private const string LowerDir = "/sandbox/lower";
    private const string ScratchDir = "/sandbox/scratch";
    private const string NewRoot = "/sandbox/root";

    public static int Run(string[] args)
    {
        // Init's first instruction, as near as managed code gets to it.
        long started = MonotonicNs();
        int code = 125;
        try
        {
            MountKernelFileSystems();
            using var port = VirtioPort.Open(PortName);
            var writer = new FrameWriter(port);
            var reader = new FrameReader(port);
            writer.Write(MessageType.Hello, Payload.Int64(MonotonicNs()));
            writer.Write(MessageType.Mark, new MarkMessage(MarkKind.InitStarted, started).Encode());

            var first = reader.Read() ?? throw new ProtocolException("host closed the channel before Start");
            if (first.Type != MessageType.Start)
                throw new ProtocolException($"expected Start, got {first.Type}");
            var spec = Payload.ReadSpec(first.Payload);
            try
            {
                MountRoot(spec);
            }
            catch (Exception e)
            {
                writer.Write(MessageType.Error, new ErrorMessage(InitFailure.Rootfs, (e as GuestSyscallException)?.Errno ?? 0, e.Message).Encode());
                throw;
            }
            code = Workload.Run(spec, new InitChannel(port, reader, writer), NewRoot, RootSwitch.MoveAndChroot, StdioMode.Channel);
        }
        catch (Exception e)
        {
            // The console is the serial log the host keeps for boot-failure diagnostics.
            Console.Error.WriteLine($"sandbox-init: {e.Message}");
        }
        finally
        {
            Reset();
        }
        return code;
    }

    internal static long MonotonicNs() => (long)(Stopwatch.GetTimestamp() * (1_000_000_000.0 / Stopwatch.Frequency));

    private static void MountKernelFileSystems()
    {
        Mount("devtmpfs", "/dev", "devtmpfs", MsNoSuid, "mode=0755");
        Mount("proc", "/proc", "proc", MsNoSuid | MsNoDev | MsNoExec, null);
        Mount("sysfs", "/sys", "sysfs", MsNoSuid | MsNoDev | MsNoExec, null);
    }

    /// <summary>The image's EROFS disk read-only, a tmpfs for this run's writes, and an overlay of both.</summary>
    private static void MountRoot(InitSpec spec)
    {
        var disk = string.IsNullOrEmpty(spec.Lower) ? "/dev/vda" : spec.Lower;
        Directory.CreateDirectory(LowerDir);
        Directory.CreateDirectory(ScratchDir);
        Directory.CreateDirectory(NewRoot);
        Mount(disk, LowerDir, "erofs", MsRdOnly, null);
        Mount("scratch", ScratchDir, "tmpfs", MsNoSuid | MsNoDev, "mode=0755");
        Directory.CreateDirectory(ScratchDir + "/upper");
        Directory.CreateDirectory(ScratchDir + "/work");
        Mount("overlay", NewRoot, "overlay", spec.ReadOnlyRootfs ? MsRdOnly : 0,
            $"lowerdir={LowerDir},upperdir={ScratchDir}/upper,workdir={ScratchDir}/work");
    }
}
