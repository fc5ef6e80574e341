using Microsoft.Win32.SafeHandles;
using Sandbox.Interop.Libc;
using Sandbox.Protocol;

namespace Sandbox.Init;

/// <summary>
/// Init's start inside a container. The host cloned us into fresh namespaces (see docs/process-model.md) with
/// fd 3 = the control socket (frames), fd 4 = the fd socket (pty master back to the host), and
/// argv = <c>container --stdio inherit|channel --rootfs DIR</c>.
/// </summary>
internal static class ContainerBoot
{
    public const int ControlFd = 3, FdSocketFd = 4;

    public static int Run(string[] args)
    {
        long started = Processes.MonotonicNs();
        var stdio = StdioMode.Inherited;
        string? rootfs = null, idmappedLower = null;
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--stdio": stdio = args[i + 1] == "channel" ? StdioMode.Channel : StdioMode.Inherited; break;
                case "--rootfs": rootfs = args[i + 1]; break;
                case "--idmapped-lower": idmappedLower = args[i + 1]; break;
            }
        }
        var input = new FileStream(new SafeFileHandle(ControlFd, ownsHandle: false), FileAccess.Read, 0);
        var output = new FileStream(new SafeFileHandle(ControlFd, ownsHandle: false), FileAccess.Write, 0);
        var channel = new InitChannel(input, output) { FdSocket = new SafeFd(FdSocketFd, ownsHandle: false) };

        // Hello first, with our version: the host refuses an init of another version before anything else.
        channel.Send(MessageType.Hello, Payload.Hello(Processes.MonotonicNs()));
        channel.SendMark(MarkKind.InitStarted, started);
        if (channel.ReadStart() is not InitSpec spec) return 125;

        try
        {
            if (rootfs is null) throw new InitSetupException(InitFailure.Spec, "no --rootfs given");
            // Nothing we mount may propagate back to the host.
            Workload.Try(InitFailure.Rootfs, "make / private", () => Mounts.Mount(null, "/", null, Mounts.MS_REC | Mounts.MS_PRIVATE));
            var lower = spec.Lower;
            if (idmappedLower is not null)
            {
                // User namespace: the host sent the image rootfs as a detached mount idmapped into our namespace, so
                // its root-owned files are root-owned in here too (overlayfs accepts idmapped lower layers).
                Workload.Try(InitFailure.Rootfs, "attach the idmapped image rootfs", () =>
                {
                    var received = Sockets.ReceiveFd(channel.FdSocket!) ?? throw new IOException("the host sent no idmapped mount");
                    using var tree = received.Fd;
                    Mounts.MoveMount(tree, idmappedLower);
                });
                lower = idmappedLower;
            }
            if (spec.Bundle is { } bundle)
            {
                // An OCI bundle's rootfs is used in place (writes land in it, as runc), bound onto our mount point.
                Workload.Try(InitFailure.Rootfs, $"bind the bundle's rootfs {bundle.RootfsPath}", () =>
                    Mounts.Mount(bundle.RootfsPath, rootfs, null, Mounts.MS_BIND | Mounts.MS_REC));
            }
            else Workload.Try(InitFailure.Rootfs, $"mount the overlay at {rootfs}", () =>
                Mounts.Mount("overlay", rootfs, "overlay", Mounts.MS_NODEV, $"lowerdir={Escape(lower)},upperdir={Escape(spec.Upper!)},workdir={Escape(spec.Work!)}"));
        }
        catch (InitSetupException e)
        {
            channel.SendError(e.Failure, e.Errno, e.Message);
            return e.ExitCode;
        }
        int code = Workload.Run(spec, channel, rootfs, RootSwitch.PivotRoot, stdio);
        // Every frame is written synchronously by now; skipping the runtime's shutdown ends the sandbox sooner (its
        // namespaces die with us).
        Processes.ExitNow(code);
        return code;
    }

    /// <summary>overlayfs option values escape ',' ':' and '\' with a backslash.</summary>
    private static string Escape(string path) =>
        path.Replace("\\", "\\\\").Replace(",", "\\,").Replace(":", "\\:");
}
