namespace Sandbox.Benchmarking.Tests;

/// <summary>The density row counts the qemu processes of its own store's domains only (libvirt's status XML).</summary>
public sealed class QemuProcessesTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sandbox-qemu-state-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    private void Domain(string name, string? root, int pid)
    {
        var owner = root is null ? "" : $"<sandbox:owner xmlns:sandbox='https://sandbox.dev/owner' pid='1' start='2' boot='b' root='{root}'/>";
        File.WriteAllText(Path.Combine(_dir, name + ".xml"), $"<domstatus><domain type='qemu'><name>{name}</name><metadata>{owner}</metadata></domain></domstatus>");
        File.WriteAllText(Path.Combine(_dir, name + ".pid"), pid + "\n");
    }

    [Fact]
    public void OnlyTheDomainsOwnedByTheStoreAreCounted()
    {
        Domain("sandbox-aaa", "/var/tmp/mine", 101);
        Domain("sandbox-bbb", "/var/tmp/other", 102);
        Domain("sandbox-ccc", null, 103);
        Domain("sandbox-ddd", "/var/tmp/mine&amp;co", 104);
        Domain("sandbox-eee", "/var/tmp/mine", 105);
        File.Delete(Path.Combine(_dir, "sandbox-eee.pid")); // gone meanwhile
        Assert.Equal([101], QemuProcesses.OfStore("/var/tmp/mine", _dir));
        Assert.Equal([104], QemuProcesses.OfStore("/var/tmp/mine&co", _dir));
        Assert.Empty(QemuProcesses.OfStore("/var/tmp/none", Path.Combine(_dir, "missing")));
    }
}
