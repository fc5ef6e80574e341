using Sandbox.Protocol;

namespace Sandbox.Init;

/// <summary>
/// Init's end of the host ↔ init protocol: frames over a byte stream (a socketpair in a container, a virtio-serial
/// port in a guest). Writes are thread-safe. Reads happen on one background thread once <see cref="StartReceiving"/>
/// is called, so the supervisor's poll loop only sees a wake-up fd.
/// </summary>
public sealed class InitChannel
{
    private readonly FrameReader _reader;
    private readonly FrameWriter _writer;
    private readonly Queue<Frame?> _received = new();
    private Interop.Libc.SafeFd? _wake;
    private volatile bool _hostGone;
    private volatile bool _hostSeen;

    public InitChannel(Stream stream) : this(stream, stream) { }

    /// <summary>Separate read and write streams (e.g. two FileStreams over one fd).</summary>
    public InitChannel(Stream input, Stream output)
    {
        _reader = new FrameReader(input);
        _writer = new FrameWriter(output);
    }

    /// <summary>
    /// Container only: a unix socket for passing fds to the host (the pty master with <c>-t</c>), as runc's
    /// console socket. Null in a guest.
    /// </summary>
    public Interop.Libc.SafeFd? FdSocket { get; init; }

    /// <summary>Guest only: the virtio-serial port's fd (handed on to the workload's init; polled for the host's hang-up).</summary>
    public Microsoft.Win32.SafeHandles.SafeFileHandle? Port { get; init; }

    /// <summary>Reads one frame synchronously (used before supervision starts, e.g. for the Start frame).</summary>
    public Frame? Read()
    {
        var frame = _reader.Read();
        if (frame is not null) _hostSeen = true;
        return frame;
    }

    /// <summary>The host has been connected (it sent a frame): from then on a hang-up means it is gone for good.</summary>
    public bool HostSeen { get => _hostSeen; init => _hostSeen = value; }

    public void Send(MessageType type, ReadOnlySpan<byte> payload) => Send(type, Frame.MainProcess, payload);

    public void Send(MessageType type, uint process, ReadOnlySpan<byte> payload)
    {
        // A virtio-serial write blocks while no host is connected: once the host hung up, nobody is left to tell, and a
        // blocked init would keep a guest whose host died (a SIGKILLed run) alive instead of ending it.
        if (_hostGone || HostHungUp()) return;
        try { _writer.Write(type, process, payload); }
        catch (IOException) { /* the host is gone; init notices through end of stream and tears down */ }
    }

    /// <summary>
    /// Guest: the port polls POLLHUP while no host is connected (virtio_console). Checked before each write, so init does
    /// not block in a write to a host that died before init's reader saw end-of-stream (e.g. right after Start).
    /// </summary>
    private bool HostHungUp()
    {
        // Before the host first connects, writes must block (nothing init says before that may be lost).
        if (Port is null || !_hostSeen) return false;
        Span<Interop.Libc.Files.PollFd> fds = [new Interop.Libc.Files.PollFd { Fd = (int)Port.DangerousGetHandle(), Events = Interop.Libc.Files.POLLOUT }];
        if (Interop.Libc.Files.Poll(fds, 0) <= 0) return false;
        if ((fds[0].Revents & Interop.Libc.Files.POLLHUP) == 0 || (fds[0].Revents & Interop.Libc.Files.POLLOUT) != 0) return false;
        _hostGone = true;
        return true;
    }

    public void SendMark(MarkKind kind, long monotonicNs) => Send(MessageType.Mark, new MarkMessage(kind, monotonicNs).Encode());

    public void SendError(InitFailure failure, int errno, string message) => SendError(Frame.MainProcess, failure, errno, message);

    public void SendError(uint process, InitFailure failure, int errno, string message) =>
        Send(MessageType.Error, process, new ErrorMessage(failure, errno, message).Encode());

    /// <summary>
    /// Reads the host's Start frame and checks its protocol version; null (after an Error frame to the host, or a line
    /// on stderr when there is nobody to tell) when it is missing, broken or of another version.
    /// </summary>
    public InitSpec? ReadStart()
    {
        Frame? frame;
        try { frame = Read(); }
        catch (Exception e) when (e is IOException or ProtocolException)
        {
            Console.Error.WriteLine("sandbox-init: bad start frame: " + e.Message);
            return null;
        }
        if (frame is not Frame { Type: MessageType.Start } start)
        {
            Console.Error.WriteLine("sandbox-init: the host sent no start frame");
            return null;
        }
        try
        {
            uint version = Payload.ReadStartVersion(start.Payload);
            if (version != ProtocolVersion.Current)
            {
                SendError(InitFailure.Version, 0, Payload.VersionMismatch(version, ProtocolVersion.Current));
                return null;
            }
            return Payload.ReadStart(start.Payload);
        }
        catch (Exception e) when (e is ProtocolException or System.Text.Json.JsonException)
        {
            SendError(InitFailure.Spec, 0, "bad start frame: " + e.Message);
            return null;
        }
    }

    /// <summary>Starts the reader thread; <see cref="WakeFd"/> becomes readable whenever frames are queued.</summary>
    public void StartReceiving()
    {
        if (_wake is not null) return;
        _wake = Interop.Libc.Files.EventFd();
        var thread = new Thread(ReceiveLoop) { IsBackground = true, Name = "init-channel" };
        thread.Start();
    }

    public Interop.Libc.SafeFd WakeFd => _wake ?? throw new InvalidOperationException("receiving not started");

    /// <summary>Takes the frames received so far; a null entry means the host end closed (or broke the protocol).</summary>
    public List<Frame?> Drain()
    {
        Interop.Libc.Files.EventFdDrain(WakeFd);
        lock (_received)
        {
            var list = new List<Frame?>(_received);
            _received.Clear();
            return list;
        }
    }

    private void ReceiveLoop()
    {
        while (true)
        {
            Frame? frame;
            try { frame = _reader.Read(); }
            catch (Exception e) when (e is IOException or ProtocolException or ObjectDisposedException) { frame = null; }
            if (frame is null) _hostGone = true;
            else _hostSeen = true;
            lock (_received) _received.Enqueue(frame);
            Interop.Libc.Files.EventFdSignal(_wake!);
            if (frame is null) return;
        }
    }
}
