using System.Net.Sockets;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Sandbox.Core;
using Sandbox.Protocol;

namespace Sandbox.Lifecycle;

/// <summary>
/// The owner's control endpoint, <c>run/&lt;id&gt;/ctl.sock</c> (mode 0600): one request per connection, as the first
/// frame (<see cref="MessageType.Start"/>, a JSON <see cref="ControlRequest"/>), answered by a JSON
/// <see cref="ControlReply"/> frame (<see cref="MessageType.Hello"/>). exec and attach then carry the process's
/// streams on the same connection with the init protocol's frame types: Stdin/StdinClose/Signal/Resize from the
/// client, Stdout/Stderr and a final Exited from the owner.
/// </summary>
internal sealed class ControlServer : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly SandboxOwner _owner;
    private readonly ILogger _log;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accept;
    private readonly string _path;

    private ControlServer(string path, Socket listener, SandboxOwner owner, ILogger log)
    {
        _path = path;
        _listener = listener;
        _owner = owner;
        _log = log;
        _accept = Task.Run(AcceptLoopAsync);
    }

    public static ControlServer Start(string path, SandboxOwner owner, ILogger log)
    {
        try { File.Delete(path); } catch (IOException) { }
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Bind(new UnixDomainSocketEndPoint(path));
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            socket.Listen(64);
        }
        catch (Exception e) when (e is SocketException or IOException)
        {
            socket.Dispose();
            throw new SandboxException(SandboxFailure.Host, $"cannot listen on {path}: {e.Message}", e);
        }
        return new ControlServer(path, socket, owner, log);
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try { client = await _listener.AcceptAsync(_stop.Token).ConfigureAwait(false); }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException) { return; }
            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(Socket client)
    {
        using var _ = client;
        await using var stream = new NetworkStream(client, ownsSocket: false);
        var reader = new FrameReader(stream);
        var writer = new FrameWriter(stream);
        try
        {
            var first = await reader.ReadAsync(_stop.Token).ConfigureAwait(false);
            if (first is not Frame f || f.Type != MessageType.Start) return;
            var request = JsonSerializer.Deserialize(f.Payload, ControlJsonContext.Default.ControlRequest)
                ?? throw new ProtocolException("empty control request");
            try
            {
                switch (request.Op)
                {
                    case "exec":
                        await ExecAsync(request, reader, writer).ConfigureAwait(false);
                        return;
                    case "attach":
                        await AttachAsync(reader, writer).ConfigureAwait(false);
                        return;
                    case "stop":
                        await _owner.StopAsync(TimeSpan.FromSeconds(request.TimeoutSeconds), _stop.Token).ConfigureAwait(false);
                        await ReplyAsync(writer, new ControlReply { Ok = true }).ConfigureAwait(false);
                        return;
                    case "kill":
                        await _owner.KillAsync(request.Signal, _stop.Token).ConfigureAwait(false);
                        await ReplyAsync(writer, new ControlReply { Ok = true }).ConfigureAwait(false);
                        return;
                    case "pause":
                    case "unpause":
                        await _owner.PauseAsync(request.Op == "pause", _stop.Token).ConfigureAwait(false);
                        await ReplyAsync(writer, new ControlReply { Ok = true }).ConfigureAwait(false);
                        return;
                    case "resize":
                        await _owner.Sandbox.ResizeTtyAsync(request.Rows, request.Columns, _stop.Token).ConfigureAwait(false);
                        await ReplyAsync(writer, new ControlReply { Ok = true }).ConfigureAwait(false);
                        return;
                    case "stats":
                        var stats = await _owner.Sandbox.GetStatsAsync(_stop.Token).ConfigureAwait(false);
                        await ReplyAsync(writer, new ControlReply { Ok = true, Stats = stats }).ConfigureAwait(false);
                        return;
                    case "wait":
                        var exit = await _owner.Exited.WaitAsync(_stop.Token).ConfigureAwait(false);
                        await ReplyAsync(writer, new ControlReply
                        {
                            Ok = true, ExitCode = exit?.Code, ExitSignal = exit?.Signal, OomKilled = exit?.OomKilled ?? false,
                        }).ConfigureAwait(false);
                        return;
                    default:
                        throw new SandboxException(SandboxFailure.InvalidSpec, $"unknown control operation '{request.Op}'");
                }
            }
            catch (SandboxException e)
            {
                await ReplyAsync(writer, new ControlReply { Ok = false, Error = e.Message, Failure = e.Reason }).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is IOException or ProtocolException or JsonException or OperationCanceledException or ObjectDisposedException or SocketException)
        {
            OwnerLog.ControlFailed(_log, _owner.Record.Id, e.Message);
        }
    }

    private static ValueTask ReplyAsync(FrameWriter writer, ControlReply reply) =>
        writer.WriteAsync(MessageType.Hello, JsonSerializer.SerializeToUtf8Bytes(reply, ControlJsonContext.Default.ControlReply));

    private async Task ExecAsync(ControlRequest request, FrameReader reader, FrameWriter writer)
    {
        var spec = request.Exec ?? throw new SandboxException(SandboxFailure.InvalidSpec, "exec without a command");
        if (_owner.Exited.IsCompleted)
            throw new SandboxException(SandboxFailure.NotRunning, $"sandbox {_owner.Record.Id} is not running");
        if (_owner.Paused)
            throw new SandboxException(SandboxFailure.NotRunning, $"sandbox {_owner.Record.Id} is paused: unpause it first");
        InputQueue? stdin = spec.Interactive && !request.Detach ? new InputQueue() : null;
        var replied = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var stdio = request.Detach ? SandboxStdio.Null
            : SandboxStdio.Streams(stdin, new FrameOutputStream(writer, MessageType.Stdout, replied.Task),
                new FrameOutputStream(writer, MessageType.Stderr, replied.Task));
        await using var process = await _owner.Sandbox.ExecAsync(spec, stdio, _stop.Token).ConfigureAwait(false);
        await ReplyAsync(writer, new ControlReply { Ok = true }).ConfigureAwait(false);
        replied.SetResult();
        if (request.Detach)
        {
            // exec -d: the client has its answer; the process runs on (disposing it would kill it) until it ends.
            try { await process.WaitAsync(_stop.Token).ConfigureAwait(false); }
            catch (Exception e) when (e is SandboxException or OperationCanceledException) { }
            return;
        }
        using var done = new CancellationTokenSource();
        var input = Task.Run(() => PumpClientAsync(reader, stdin, process, done.Token));
        ExitStatus status;
        try { status = await process.WaitAsync(_stop.Token).ConfigureAwait(false); }
        catch (SandboxException) { status = ExitStatus.Killed(9); }
        done.Cancel();
        stdin?.Complete();
        await writer.WriteAsync(MessageType.Exited, new ExitMessage(status.ShellCode, status.Signal ?? 0, status.OomKilled).Encode()).ConfigureAwait(false);
    }

    private static async Task PumpClientAsync(FrameReader reader, InputQueue? stdin, ISandboxProcess? process, CancellationToken cancellationToken)
    {
        try
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false) is Frame f)
            {
                switch (f.Type)
                {
                    case MessageType.Stdin: stdin?.Enqueue(f.Payload); break;
                    case MessageType.StdinClose: stdin?.Complete(); break;
                    case MessageType.Signal when process is not null:
                        await process.SignalAsync(Payload.ReadInt32(f.Payload, MessageType.Signal), cancellationToken).ConfigureAwait(false);
                        break;
                    case MessageType.Resize when process is not null:
                        var (rows, cols) = Payload.ReadResize(f.Payload);
                        await process.ResizeTtyAsync(rows, cols, cancellationToken).ConfigureAwait(false);
                        break;
                }
            }
            // The client went away: an exec's stdin ends with it.
            stdin?.Complete();
        }
        catch (Exception e) when (e is IOException or ProtocolException or OperationCanceledException or ObjectDisposedException) { }
    }

    /// <summary>
    /// attach: output is read by the client from the log (so nothing written before it connected is lost); here it
    /// sends stdin and resizes, and learns the exit.
    /// </summary>
    private async Task AttachAsync(FrameReader reader, FrameWriter writer)
    {
        if (!_owner.Detached)
            throw new SandboxException(SandboxFailure.InvalidSpec, $"sandbox {_owner.Record.Id} runs in the foreground of another terminal; attach works on detached sandboxes");
        await ReplyAsync(writer, new ControlReply { Ok = true }).ConfigureAwait(false);
        using var done = new CancellationTokenSource();
        var input = Task.Run(async () =>
        {
            try
            {
                while (await reader.ReadAsync(done.Token).ConfigureAwait(false) is Frame f)
                {
                    switch (f.Type)
                    {
                        case MessageType.Stdin: _owner.Stdin?.Enqueue(f.Payload); break;
                        case MessageType.StdinClose: _owner.Stdin?.Complete(); break;
                        case MessageType.Resize:
                            var (rows, cols) = Payload.ReadResize(f.Payload);
                            await _owner.Sandbox.ResizeTtyAsync(rows, cols, done.Token).ConfigureAwait(false);
                            break;
                        case MessageType.Signal:
                            await _owner.Sandbox.SignalAsync(Payload.ReadInt32(f.Payload, MessageType.Signal), done.Token).ConfigureAwait(false);
                            break;
                    }
                }
            }
            catch (Exception e) when (e is IOException or ProtocolException or OperationCanceledException or ObjectDisposedException) { }
        });
        var exited = _owner.Exited;
        await Task.WhenAny(exited, input).ConfigureAwait(false);
        done.Cancel();
        if (exited.IsCompleted)
        {
            var status = exited.Result;
            await writer.WriteAsync(MessageType.Exited,
                new ExitMessage(status?.ShellCode ?? 255, status?.Signal ?? 0, status?.OomKilled ?? false).Encode()).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Dispose();
        try { await _accept.ConfigureAwait(false); } catch (Exception) { }
        try { File.Delete(_path); } catch (IOException) { }
        _stop.Dispose();
    }
}
