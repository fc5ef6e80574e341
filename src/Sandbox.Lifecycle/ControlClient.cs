using System.Net.Sockets;
using System.Text.Json;
using Sandbox.Core;
using Sandbox.Protocol;

namespace Sandbox.Lifecycle;

/// <summary>A connection to a sandbox owner's control socket, for one request (see <see cref="ControlServer"/>).</summary>
public sealed class ControlClient : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;

    private ControlClient(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
        Reader = new FrameReader(_stream);
        Writer = new FrameWriter(_stream);
    }

    public FrameReader Reader { get; }
    public FrameWriter Writer { get; }

    /// <summary>Connects to the owner of <paramref name="record"/>; a sandbox without a live owner is not running.</summary>
    public static async Task<ControlClient> ConnectAsync(SandboxStore store, SandboxRecord record, CancellationToken cancellationToken)
    {
        var path = store.PathOf(record.Id, SandboxStore.ControlName);
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), cancellationToken).ConfigureAwait(false);
            return new ControlClient(socket);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new SandboxException(SandboxFailure.NotRunning, $"sandbox {Display(record)} is not running", e);
        }
    }

    public static string Display(SandboxRecord r) => r.Name ?? r.Id;

    /// <summary>Sends the request and reads the reply; a refusal becomes a <see cref="SandboxException"/> of its kind.</summary>
    public async Task<ControlReply> RequestAsync(ControlRequest request, CancellationToken cancellationToken)
    {
        Frame? frame;
        try
        {
            // The write fails too (EPIPE, ECONNRESET) when the owner closed the connection unread: it was exiting (a
            // holding init whose workload ended while we connected). That is "not running", as a hang-up is.
            await Writer.WriteAsync(MessageType.Start, JsonSerializer.SerializeToUtf8Bytes(request, ControlJsonContext.Default.ControlRequest),
                cancellationToken).ConfigureAwait(false);
            frame = await Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or ProtocolException)
        {
            throw new SandboxException(SandboxFailure.NotRunning, $"the sandbox's owner hung up: {e.Message}", e);
        }
        if (frame is not Frame f || f.Type != MessageType.Hello)
            throw new SandboxException(SandboxFailure.NotRunning, "the sandbox's owner hung up before answering");
        var reply = JsonSerializer.Deserialize(f.Payload, ControlJsonContext.Default.ControlReply)
            ?? throw new SandboxException(SandboxFailure.Host, "empty reply from the sandbox's owner");
        if (!reply.Ok) throw new SandboxException(reply.Failure ?? SandboxFailure.Host, reply.Error ?? "the owner refused");
        return reply;
    }

    /// <summary>One request on a fresh connection.</summary>
    public static async Task<ControlReply> SendAsync(SandboxStore store, SandboxRecord record, ControlRequest request, CancellationToken cancellationToken)
    {
        await using var client = await ConnectAsync(store, record, cancellationToken).ConfigureAwait(false);
        return await client.RequestAsync(request, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// One request that is not waited for: written and left (a signal for a paused sandbox's init, which answers once
    /// thawed). The holder acts on it when it reads it.
    /// </summary>
    public static async Task PostAsync(SandboxStore store, SandboxRecord record, ControlRequest request, CancellationToken cancellationToken)
    {
        await using var client = await ConnectAsync(store, record, cancellationToken).ConfigureAwait(false);
        await client.Writer.WriteAsync(MessageType.Start, JsonSerializer.SerializeToUtf8Bytes(request, ControlJsonContext.Default.ControlRequest),
            cancellationToken).ConfigureAwait(false);
    }

    public ValueTask DisposeAsync()
    {
        _stream.Dispose();
        _socket.Dispose();
        return ValueTask.CompletedTask;
    }
}
