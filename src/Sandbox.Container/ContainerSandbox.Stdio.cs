using Sandbox.Core;
using Sandbox.Interop.Libc;
using Sandbox.Protocol;

namespace Sandbox.Container;

public sealed partial class ContainerSandbox
{
    private Task? _ttyOutput;
    private SafeFd? _ptyMaster;
    private Terminals.SavedMode? _savedTerminal;
    private readonly CancellationTokenSource _stdioStop = new();

    /// <summary>
    /// -t with the caller's own stdio: init allocates the pty inside the sandbox's devpts and hands us the master
    /// (runc's console socket); we relay our terminal, in raw mode, to and from it.
    /// </summary>
    private void StartTtyRelay()
    {
        var socket = _fdSocket!;
        _ttyOutput = Task.Factory.StartNew(() =>
        {
            var received = Sockets.ReceiveFd(socket);
            if (received is not (byte Tag, SafeFd master) || Tag != (byte)'T') return;
            if (_spec.Bundle?.ConsoleSocket is string consoleSocket)
            {
                // runc's --console-socket contract: the caller (conmon, the containerd shim) gets the pty master.
                using (master) SendToConsoleSocket(consoleSocket, master);
                return;
            }
            _ptyMaster = master;
            // Raw mode whenever our stdin is a terminal: the sandbox's pty does the line discipline (runc does the same).
            if (Files.IsTerminal(0))
            {
                try { _savedTerminal = Terminals.MakeRaw(new SafeFd(0, false)); } catch (ErrnoException) { }
            }
            if (_spec.Interactive)
            {
                var input = new Thread(() => Copy(new SafeFd(0, false), master)) { IsBackground = true, Name = "tty-in" };
                input.Start();
            }
            Copy(master, new SafeFd(1, false));
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    private void SendToConsoleSocket(string path, SafeFd master)
    {
        try
        {
            using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
            socket.Connect(new System.Net.Sockets.UnixDomainSocketEndPoint(path));
            Sockets.SendFd(new SafeFd((int)socket.Handle, ownsHandle: false), master, (byte)'T');
        }
        catch (Exception e) when (e is ErrnoException or System.Net.Sockets.SocketException or IOException)
        {
            ContainerLog.CleanupFailed(_logger, Id, $"cannot send the pty to the console socket {path}: {e.Message}");
        }
    }

    private static void Copy(SafeFd from, SafeFd to)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            int n;
            while ((n = Files.Read(from, buffer)) > 0) Files.WriteAll(to, buffer.AsSpan(0, n));
        }
        catch (ErrnoException) { /* either side closed */ }
    }

    /// <summary>Waits (briefly) until the pty's output has been relayed.</summary>
    private async Task FlushOutputAsync()
    {
        if (_ttyOutput is not null)
            await Task.WhenAny(_ttyOutput, Task.Delay(2000)).ConfigureAwait(false);
    }

    private void StopStdio()
    {
        _stdioStop.Cancel();
        _savedTerminal?.Restore();
        _savedTerminal = null;
        _ptyMaster?.Dispose();
    }
}
