using BenchmarkDotNet.Attributes;
using Sandbox.Protocol;

namespace Sandbox.Benchmarks;

/// <summary>The host ↔ init protocol: what a start costs in serialization, and stdio framing throughput.</summary>
[MemoryDiagnoser]
public class ProtocolBenchmarks
{
    private readonly InitSpec _spec = new()
    {
        Argv = ["/bin/sh", "-c", "echo hello"],
        Env = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOSTNAME=sandbox", "TERM=xterm"],
        WorkingDir = "/",
        Lower = "/var/lib/sandbox/images/rootfs/sha256-0123456789abcdef",
        Mounts = [new BindMount { Source = "/data", Target = "/data", ReadOnly = true }],
    };
    private readonly byte[] _chunk = new byte[16 * 1024];
    private byte[] _specBytes = [];

    [GlobalSetup]
    public void Setup() => _specBytes = Payload.Start(_spec);

    [Benchmark]
    public byte[] SerializeSpec() => Payload.Start(_spec);

    [Benchmark]
    public InitSpec DeserializeSpec() => Payload.ReadStart(_specBytes);

    /// <summary>1 MiB of stdout framed and read back in 16 KiB frames.</summary>
    [Benchmark]
    public long StdoutFramingOneMiB()
    {
        var ms = new MemoryStream(1 << 21);
        var w = new FrameWriter(ms);
        for (int i = 0; i < 64; i++) w.Write(MessageType.Stdout, _chunk);
        ms.Position = 0;
        var r = new FrameReader(ms);
        long total = 0;
        while (r.Read() is Frame f) total += f.Payload.Length;
        return total;
    }
}
