using Sandbox.Core;
using Sandbox.Interop.Libc;
using Sandbox.Protocol;

namespace Sandbox.Container;

/// <summary>Where a holding init keeps a detached sandbox's record of itself (all in the sandbox's directory).</summary>
/// <param name="LogPath">container.log: init appends docker json-file records.</param>
/// <param name="ExitPath">exit.json: init writes the workload's exit once, before it exits.</param>
/// <param name="ControlPath">ctl.sock: bound here, listened on by init.</param>
public sealed record HolderFiles(string LogPath, string ExitPath, string ControlPath);

public sealed partial class ContainerSandbox
{
    private bool _handedOff;
    private const int ExitRecordRoom = 512;

    /// <summary>
    /// Hands the running sandbox to its sandbox-init, which holds it from now on (docs/process-model.md, "Who holds a
    /// running sandbox"): the host opens the log (O_APPEND), the exit record and the control socket, and passes them,
    /// a duplicate of the owner lock and the image lease over the fd socket (SCM_RIGHTS, received close-on-exec) —
    /// files, never a directory. Returns once init has answered (every output frame it owed us is delivered to the
    /// streams the sandbox was started with); disposing this object afterwards lets go without ending anything.
    /// Only once the start is committed: until init answers, the host's hang-up still ends the sandbox.
    /// </summary>
    public async Task HandOffAsync(HolderFiles files, CancellationToken cancellationToken)
    {
        if (_session is null || _dir is null || _fdSocket is null || _initExit is null)
            throw new InvalidOperationException("the sandbox was not started");
        if (_spec.Tty && !_channelStdio)
            throw new InvalidOperationException("a sandbox whose terminal is the caller's cannot be handed over");
        if (_network is not null)
            throw new InvalidOperationException("a sandbox on a bridge network is kept by its owner (its CNI DEL and /etc/hosts updates)");
        bool initGone = false;
        SafeFd? log = null, exit = null, ownerLock = null, listener = null;
        try
        {
            log = Files.Open(files.LogPath, Files.O_WRONLY | Files.O_CREAT | Files.O_CLOEXEC | 0x400 /* O_APPEND */, 0x180);
            // Room for the record, written now: init overwrites it from offset 0, so a full disk cannot refuse the exit.
            File.WriteAllBytes(files.ExitPath, Enumerable.Repeat((byte)' ', ExitRecordRoom).ToArray());
            exit = Files.Open(files.ExitPath, Files.O_WRONLY | Files.O_CLOEXEC);
            try { File.Delete(files.ControlPath); } catch (IOException) { }
            // Our own bind: a .NET Socket would unlink the path when we close our copy.
            listener = Sockets.ListenUnix(files.ControlPath, 64);
            File.SetUnixFileMode(files.ControlPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            ownerLock = _dir.DuplicateOwnerLock();
            try
            {
                Sockets.SendFd(_fdSocket, log, HolderFd.Log);
                Sockets.SendFd(_fdSocket, exit, HolderFd.Exit);
                Sockets.SendFd(_fdSocket, listener, HolderFd.Listener);
                Sockets.SendFd(_fdSocket, ownerLock, HolderFd.Lock);
                if (_lease.HeldLock is SafeFd lease) Sockets.SendFd(_fdSocket, lease, HolderFd.ImageLease);
                Sockets.SendFd(_fdSocket, log, HolderFd.End);
            }
            catch (ErrnoException e) when (e.Errno is 32 or 104 or 111 /* EPIPE, ECONNRESET, ECONNREFUSED */)
            {
                // Init is gone already: a workload that ended at once (below).
                initGone = true;
            }
        }
        catch (Exception e) when (e is ErrnoException or IOException or UnauthorizedAccessException)
        {
            throw new SandboxException(SandboxFailure.Host, $"cannot hand sandbox {Id} over to its init: {e.Message}", e);
        }
        finally
        {
            // Init has its own copies (or the sandbox ends with this error): ours go.
            listener?.Dispose();
            log?.Dispose();
            exit?.Dispose();
            ownerLock?.Dispose();
        }
        ExitStatus? ended = null;
        if (!initGone)
        {
            try { ended = await _session.DetachAsync(cancellationToken).ConfigureAwait(false); }
            catch (SandboxException e) when (e.Reason == SandboxFailure.NotRunning) { initGone = true; }
        }
        if (initGone)
        {
            // Init exited before it could read what we sent: it reported the workload's exit first, or it failed.
            await _session.Receiving.WaitAsync(TimeSpan.FromSeconds(10), cancellationToken).ConfigureAwait(false);
            ended = _main is { ExitReported: true } main ? await main.Exit.ConfigureAwait(false)
                : throw new SandboxException(SandboxFailure.Init, $"sandbox {Id}: sandbox-init ended before it took the sandbox over");
        }
        if (ended is ExitStatus status)
        {
            // The workload ended before init read Detach (a `run -d true`): init reported the exit to us and is gone.
            // Recorded as init would have, and the rest left to the next command's reaper exactly as after a held
            // run, so `run -d` returns now instead of cleaning up first.
            var record = new ExitRecord { Code = status.ShellCode, Signal = status.Signal ?? 0, Finished = DateTimeOffset.UtcNow };
            try { File.WriteAllBytes(files.ExitPath, System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(record, ControlJsonContext.Default.ExitRecord)); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new SandboxException(SandboxFailure.Host, $"cannot record the exit of sandbox {Id}: {e.Message}", e);
            }
        }
        _handedOff = true;
    }

    /// <summary>After <see cref="HandOffAsync"/>: our fds go; init, its processes, the cgroup and the mounts stay.</summary>
    private void LetGo()
    {
        _control?.Dispose();
        StopStdio();
        _fdSocket?.Dispose();
        _init?.Dispose();
        _dir?.Dispose();
        _lease.Dispose();
    }
}
