using Sandbox.Protocol;

namespace Sandbox.Protocol.Tests;

public class FrameTests
{
    [Fact]
    public async Task FramesRoundTripInOrderSyncAndAsync()
    {
        var ms = new MemoryStream();
        var w = new FrameWriter(ms);
        w.Write(MessageType.Stdout, "hello"u8);
        await w.WriteAsync(MessageType.StdinClose, ReadOnlyMemory<byte>.Empty);
        w.Write(MessageType.Exited, new ExitMessage(7, 0, false).Encode());
        ms.Position = 0;
        var r = new FrameReader(ms);
        var f1 = r.Read()!.Value;
        Assert.Equal(MessageType.Stdout, f1.Type);
        Assert.Equal("hello"u8.ToArray(), f1.Payload);
        var f2 = (await r.ReadAsync())!.Value;
        Assert.Equal(MessageType.StdinClose, f2.Type);
        Assert.Empty(f2.Payload);
        var f3 = r.Read()!.Value;
        Assert.Equal(new ExitMessage(7, 0, false), ExitMessage.Decode(f3.Payload));
        Assert.Null(r.Read());
    }

    [Fact]
    public void SpecRoundTripsThroughJson()
    {
        var spec = new InitSpec
        {
            Mode = InitMode.Guest,
            Argv = ["sh", "-c", "echo ü"],
            Env = ["A=1"],
            User = "1000:1000",
            Mounts = [new BindMount { Source = "/h", Target = "/g", ReadOnly = true }],
            Tty = true,
            TtyRows = 24,
            TtyColumns = 80,
        };
        var payload = Payload.Start(spec);
        Assert.Equal(ProtocolVersion.Current, Payload.ReadStartVersion(payload));
        var back = Payload.ReadStart(payload);
        Assert.Equal(InitMode.Guest, back.Mode);
        Assert.Equal(spec.Argv, back.Argv);
        Assert.Equal("1000:1000", back.User);
        Assert.True(back.Mounts[0].ReadOnly);
        Assert.Equal((ushort)80, back.TtyColumns);
    }

    [Fact]
    public void MessagesRoundTrip()
    {
        Assert.Equal(new ErrorMessage(InitFailure.CommandNotFound, 2, "nope: ü"),
            ErrorMessage.Decode(new ErrorMessage(InitFailure.CommandNotFound, 2, "nope: ü").Encode()));
        Assert.Equal(new MarkMessage(MarkKind.WorkloadStarted, long.MaxValue - 5),
            MarkMessage.Decode(new MarkMessage(MarkKind.WorkloadStarted, long.MaxValue - 5).Encode()));
        Assert.Equal(((ushort)50, (ushort)132), Payload.ReadResize(Payload.Resize(50, 132)));
        Assert.Equal(-9, Payload.ReadInt32(Payload.Int32(-9), MessageType.Signal));
    }

    [Fact]
    public void OversizedFrameIsRefusedBeforeAllocating()
    {
        var ms = new MemoryStream([(byte)MessageType.Stdout, 0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0]);
        var e = Assert.Throws<ProtocolException>(() => new FrameReader(ms).Read());
        Assert.Contains("limit", e.Message);
    }

    [Fact]
    public void TruncatedFrameIsAnError()
    {
        var ms = new MemoryStream([(byte)MessageType.Stdout, 10, 0, 0, 0, 1, 0, 0, 0, 1, 2]);
        Assert.Throws<ProtocolException>(() => new FrameReader(ms).Read());
        var half = new MemoryStream([(byte)MessageType.Stdout, 10]);
        Assert.Throws<ProtocolException>(() => new FrameReader(half).Read());
    }

    [Fact]
    public void ShortPayloadsAreProtocolErrors()
    {
        Assert.Throws<ProtocolException>(() => ExitMessage.Decode(new byte[3]));
        Assert.Throws<ProtocolException>(() => MarkMessage.Decode(new byte[8]));
        Assert.Throws<ProtocolException>(() => Payload.ReadResize(new byte[1]));
    }

    [Fact]
    public void WriterRefusesOversizedPayload() =>
        Assert.Throws<ArgumentException>(() => new FrameWriter(new MemoryStream()).Write(MessageType.Stdout, new byte[Frame.MaxPayload + 1]));

    [Fact]
    public void ProcessIdsTravelInTheHeader()
    {
        var ms = new MemoryStream();
        var w = new FrameWriter(ms);
        w.Write(MessageType.Stdout, 7, "x"u8);
        w.Write(MessageType.Stderr, "y"u8);
        Assert.Equal(2 * (Frame.HeaderSize + 1), (int)ms.Length);
        ms.Position = 0;
        var r = new FrameReader(ms);
        var first = r.Read()!.Value;
        var second = r.Read()!.Value;
        Assert.Equal(7u, first.Process);
        Assert.Equal(Frame.MainProcess, second.Process);
        Assert.Equal(MessageType.Stderr, second.Type);
    }

    [Fact]
    public void HelloCarriesTheVersionAndAVersionOneHelloIsRecognised()
    {
        Assert.Equal((ProtocolVersion.Current, 1234L), Payload.ReadHello(Payload.Hello(1234)));
        // A version-1 init's Hello: the i64 clock only.
        Assert.Equal((1u, 99L), Payload.ReadHello(Payload.Int64(99)));
        Assert.Contains("v2", Payload.VersionMismatch(2, 1));
        Assert.Contains("v1", Payload.VersionMismatch(2, 1));
    }

    [Fact]
    public void ExecRequestRoundTripsAndRejectsLies()
    {
        var req = new ExecRequest(["sh", "-c", "echo ü"], ["A=1", "PATH=/bin"], "/tmp", "nobody:5", Tty: true, Interactive: false, 24, 80);
        var back = ExecRequest.Decode(req.Encode());
        Assert.Equal(req.Argv, back.Argv);
        Assert.Equal(req.Env, back.Env);
        Assert.Equal(("/tmp", "nobody:5", true, false, (ushort)24, (ushort)80),
            (back.WorkingDir, back.User, back.Tty, back.Interactive, back.TtyRows, back.TtyColumns));
        var bytes = req.Encode();
        Assert.Throws<ProtocolException>(() => ExecRequest.Decode(bytes.AsSpan(0, bytes.Length - 3)));
        var lying = (byte[])bytes.Clone();
        lying[5] = 0xff; lying[6] = 0xff; lying[7] = 0xff; lying[8] = 0x7f; // the user string claims 2 GiB
        Assert.Throws<ProtocolException>(() => ExecRequest.Decode(lying));
        var empty = new ExecRequest([], [], "/", "0", false, false, 0, 0).Encode();
        Assert.Throws<ProtocolException>(() => ExecRequest.Decode(empty));
    }

    [Fact]
    public void StatsAndStartedRoundTrip()
    {
        Assert.Equal(new StatsMessage(5 << 20, 128 << 20), StatsMessage.Decode(new StatsMessage(5 << 20, 128 << 20).Encode()));
        Assert.Equal((42, 7L), Payload.ReadStarted(Payload.Started(42, 7)));
    }
}
