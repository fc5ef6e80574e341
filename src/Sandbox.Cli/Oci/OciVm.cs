using System.Net.Sockets;
using Sandbox.Core;
using Sandbox.Interop.Libc;

namespace Sandbox.Cli.Oci;

/// <summary>
/// Micro-VM isolation of an OCI bundle (<c>sandbox-oci-vm</c>, annotation <c>sandbox.isolation=vm</c>;
/// docs/oci-runtime.md, "Micro-VM mode"): what a bundle may ask of a guest, and the console socket's pty on the host.
/// The rest is the micro-VM backend's (the bundle's rootfs over virtio-9p) and sandbox-init's (the process spec,
/// mounts, seccomp, in the guest).
/// </summary>
internal static class OciVm
{
    /// <summary>
    /// Refuses, with one line naming the field, what a guest cannot be given: joining a host namespace by path (the
    /// guest has its own kernel; podman's default network is a netns of the host), a user namespace, the host's network.
    /// Returns the warnings for what is accepted but means nothing in a guest.
    /// </summary>
    public static IReadOnlyList<string> Check(SandboxSpec spec)
    {
        var bundle = spec.Bundle!;
        foreach (var join in bundle.Joins)
        {
            if (join.Type == "network")
                throw OciConfig.Invalid($"config.json: linux.namespaces: a micro-VM cannot join the network namespace {join.Path} " +
                    "(the guest has its own kernel; bridge networking of OCI VMs is not implemented): run it with --network none");
            throw OciConfig.Invalid($"config.json: linux.namespaces: a micro-VM cannot join the {join.Type} namespace {join.Path} (the guest has its own kernel)");
        }
        if ((bundle.NewNamespaces & SandboxNative.CLONE_NEWUSER) != 0)
            throw OciConfig.Invalid("config.json: linux.namespaces: a user namespace (uidMappings) is not supported with micro-VM isolation (the guest kernel is the boundary)");
        if (spec.Network == NetworkMode.Host)
            throw OciConfig.Invalid("config.json: linux.namespaces has no network namespace: a micro-VM cannot share the host's network");
        var warnings = new List<string>();
        if (bundle.CgroupsPath is string path)
            warnings.Add($"linux.cgroupsPath {path}: a micro-VM's limits are its size and the guest's cgroup; the owner and qemu stay in the caller's cgroup");
        return warnings;
    }

    /// <summary>
    /// <c>--console-socket</c> for a guest: the guest's pty is the workload's terminal, relayed over the channel to a
    /// host pty whose master goes to the console socket (as runc's does); the owner relays the slave, raw, so the
    /// guest's pty alone does the line discipline.
    /// </summary>
    public static SandboxStdio ConsoleStdio(string consoleSocket, out SafeFd terminal)
    {
        var (master, slave) = Terminals.OpenPty("/dev/ptmx");
        using (master)
        {
            try
            {
                Terminals.MakeRaw(slave);
                using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                socket.Connect(new UnixDomainSocketEndPoint(consoleSocket));
                Sockets.SendFd(new SafeFd((int)socket.Handle, ownsHandle: false), master, (byte)'T');
            }
            catch (Exception e) when (e is ErrnoException or SocketException or IOException)
            {
                slave.Dispose();
                throw new SandboxException(SandboxFailure.Host, $"cannot send the pty to the console socket {consoleSocket}: {e.Message}", e);
            }
        }
        // Two streams on two fds: the relay reads the terminal while it writes the guest's output; a third for its size.
        terminal = Files.Dup(slave);
        var writeFd = Files.Dup(slave);
        var input = new FileStream(Handle(slave), FileAccess.Read, bufferSize: 0);
        var output = new FileStream(Handle(writeFd), FileAccess.Write, bufferSize: 0);
        return SandboxStdio.Streams(input, output, output);
    }

    /// <summary>
    /// The caller resizes its pty master (conmon on podman's resize requests); the owner's end is not its controlling
    /// terminal, so no SIGWINCH comes: it polls the size (one ioctl every 200 ms) and passes changes to the guest's pty.
    /// </summary>
    public static async Task ForwardWindowSizeAsync(SafeFd terminal, ISandbox sandbox, CancellationToken cancellationToken)
    {
        ushort lastRows = 0, lastColumns = 0;
        using (terminal)
        {
            try
            {
                while (!cancellationToken.IsCancellationRequested)
                {
                    if (Terminals.TryGetWindowSize(terminal, out var rows, out var columns) && rows > 0 && columns > 0
                        && (rows != lastRows || columns != lastColumns))
                    {
                        await sandbox.ResizeTtyAsync(rows, columns, cancellationToken).ConfigureAwait(false);
                        (lastRows, lastColumns) = (rows, columns);
                    }
                    await Task.Delay(200, cancellationToken).ConfigureAwait(false);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or SandboxException or IOException or ObjectDisposedException) { }
        }
    }

    private static Microsoft.Win32.SafeHandles.SafeFileHandle Handle(SafeFd fd)
    {
        var handle = new Microsoft.Win32.SafeHandles.SafeFileHandle(fd.DangerousGetHandle(), ownsHandle: true);
        fd.SetHandleAsInvalid();
        return handle;
    }
}
