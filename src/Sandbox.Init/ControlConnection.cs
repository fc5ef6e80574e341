using System.Text.Json;
using Microsoft.Win32.SafeHandles;
using Sandbox.Core;
using Sandbox.Interop.Libc;
using Sandbox.Protocol;

namespace Sandbox.Init;

/// <summary>
/// One client of a holding init's control socket (<c>ctl.sock</c>), speaking the same protocol as the .NET owner's
/// ControlServer: a <see cref="ControlRequest"/> as the first frame, a <see cref="ControlReply"/>, then, for exec and
/// attach, the process's streams (Stdin/StdinClose/Signal/Resize in, Stdout/Stderr and a last Exited out). Frames are
/// read by the connection's own thread (<see cref="InitChannel"/>) and acted on in the supervisor's poll loop.
/// </summary>
internal sealed class ControlConnection : IDisposable
{
    private readonly SafeFd _socket;

    public ControlConnection(SafeFd socket)
    {
        _socket = socket;
        Channel = new InitChannel(new FileStream(new SafeFileHandle(socket.Fd, ownsHandle: false), FileAccess.Read, 0),
            new FileStream(new SafeFileHandle(socket.Fd, ownsHandle: false), FileAccess.Write, 0));
        Channel.StartReceiving();
    }

    public InitChannel Channel { get; }

    /// <summary>The request, once its first frame came.</summary>
    public ControlRequest? Request { get; set; }

    /// <summary>exec: the process this client drives.</summary>
    public SandboxProcess? Process { get; set; }

    /// <summary>attach, wait, stop: answered when the workload ends.</summary>
    public bool AwaitsExit { get; set; }

    /// <summary>stop: when SIGTERM turns into SIGKILL (CLOCK_MONOTONIC ns).</summary>
    public long KillAt { get; set; }

    public void Reply(ControlReply reply) =>
        Channel.Send(MessageType.Hello, JsonSerializer.SerializeToUtf8Bytes(reply, ControlJsonContext.Default.ControlReply));

    public void Refuse(SandboxFailure failure, string message) => Reply(new ControlReply { Ok = false, Failure = failure, Error = message });

    public static ControlRequest? Parse(Frame frame)
    {
        if (frame.Type != MessageType.Start) return null;
        try { return JsonSerializer.Deserialize(frame.Payload, ControlJsonContext.Default.ControlRequest); }
        catch (JsonException) { return null; }
    }

    /// <summary>Ends the conversation: the client sees end of stream, and our reader thread does too (then Dispose).</summary>
    public void Close() => Sockets.Shutdown(_socket);

    /// <summary>Only once the reader thread delivered end of stream: it must never read an fd number reused after this.</summary>
    public void Dispose()
    {
        _socket.Dispose();
        Channel.WakeFd.Dispose();
    }
}
