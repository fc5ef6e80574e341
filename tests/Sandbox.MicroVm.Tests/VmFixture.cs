using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Sandbox.Core;
using Sandbox.Interop.Libvirt;
using Xunit;

namespace Sandbox.MicroVm.Tests;

/// <summary>One temp store (the real image store, its built-in busybox image and its EROFS disk) and one runtime (one KVM probe) for all VM tests.</summary>
public sealed class VmFixture : IAsyncLifetime
{
    private Images.ImageStore? _store;

    public string Root { get; } = Path.Combine(Path.GetTempPath(), "sandbox-vmtest-" + Guid.NewGuid().ToString("N")[..8]);
    public SandboxPaths Paths => new(Root);
    public MicroVmRuntime Runtime { get; private set; } = null!;
    public IImageProvider ImageProvider => _store!;
    public ILoggerFactory LoggerFactory { get; } = NullLoggerFactory.Instance;

    public Task InitializeAsync()
    {
        TestEnvironment.RequireGuest();
        Directory.CreateDirectory(Root);
        _store = new Images.ImageStore(Paths, LoggerFactory);
        Runtime = NewRuntime(TestEnvironment.LibvirtUri);
        return Task.CompletedTask;
    }

    public MicroVmRuntime NewRuntime(string uri) =>
        new(Paths, _store!, LoggerFactory, uri, TestEnvironment.KernelPath, TestEnvironment.InitramfsPath);

    public async Task<RunResult> RunAsync(SandboxSpec spec, string? stdin = null, MicroVmRuntime? runtime = null)
    {
        var stdout = new MemoryStream();
        var stderr = new MemoryStream();
        var input = stdin is null ? null : new MemoryStream(System.Text.Encoding.UTF8.GetBytes(stdin));
        spec = spec with { Isolation = Isolation.Vm, Interactive = spec.Interactive || stdin is not null };
        var sandbox = await (runtime ?? Runtime).StartAsync(spec, SandboxStdio.Streams(input, stdout, stderr));
        ExitStatus status;
        try { status = await sandbox.WaitAsync().WaitAsync(TimeSpan.FromMinutes(2)); }
        finally { await sandbox.DisposeAsync(); }
        return new RunResult(status, System.Text.Encoding.UTF8.GetString(stdout.ToArray()),
            System.Text.Encoding.UTF8.GetString(stderr.ToArray()), sandbox);
    }

    public static SandboxSpec Busybox(params string[] args) => new() { Image = "busybox", Args = args, Isolation = Isolation.Vm };

    /// <summary>
    /// Names of this fixture's sandbox domains libvirt knows right now: those whose channel socket or console log lies
    /// in this fixture's store (other developers' and other test assemblies' VMs run on the same libvirtd).
    /// </summary>
    public List<string> SandboxDomains()
    {
        using var conn = LibvirtConnection.Open(TestEnvironment.LibvirtUri);
        var own = new List<string>();
        foreach (var d in conn.ListAllDomains())
        {
            using (d)
            {
                if (!d.Name.StartsWith("sandbox-", StringComparison.Ordinal)) continue;
                string xml;
                try { xml = d.GetXml(); }
                catch (LibvirtException) { continue; } // gone between the listing and the read
                if (xml.Contains(Root + "/", StringComparison.Ordinal)) own.Add(d.Name);
            }
        }
        return own;
    }

    public async Task DisposeAsync()
    {
        await Runtime.DisposeAsync();
        var left = SandboxDomains();
        Directory.Delete(Root, recursive: true);
        if (left.Count > 0) throw new InvalidOperationException("sandbox domains left after the micro-VM tests: " + string.Join(", ", left));
    }
}

public sealed record RunResult(ExitStatus Status, string Stdout, string Stderr, ISandbox Sandbox);

[CollectionDefinition(Name)]
public sealed class VmCollection : ICollectionFixture<VmFixture>
{
    public const string Name = "micro-VM";
}
