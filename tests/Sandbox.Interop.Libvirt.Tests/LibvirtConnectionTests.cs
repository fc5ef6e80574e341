using Xunit;

namespace Sandbox.Interop.Libvirt.Tests;

/// <summary>Against the real libvirtd that test.sh starts (scripts/start-libvirtd.sh).</summary>
public sealed class LibvirtConnectionTests
{
    private static string Uri => Environment.GetEnvironmentVariable("SANDBOX_LIBVIRT_URI") is { Length: > 0 } u ? u : LibvirtConnection.DefaultUri;

    [Fact]
    public void Connects_and_reports_versions_and_capabilities()
    {
        using var conn = LibvirtConnection.Open(Uri);
        Assert.True(conn.GetLibraryVersion() >= 9_000_000, "libvirt 9.0 or later");
        Assert.True(conn.GetHypervisorVersion() > 0);
        var caps = conn.GetCapabilities();
        Assert.Contains("<capabilities>", caps);
        Assert.Contains("<domain type='qemu'", caps);
    }

    [Fact]
    public void Socket_nobody_listens_on_gives_LibvirtException_with_code_and_message()
    {
        var path = Path.Combine(Path.GetTempPath(), "no-libvirtd-" + Guid.NewGuid().ToString("N") + ".sock");
        var e = Assert.Throws<LibvirtException>(() => LibvirtConnection.Open($"qemu:///system?socket={path}"));
        Assert.Equal(LibvirtException.ErrSystemError, e.Code);
        Assert.Contains(path, e.Message);
        Assert.StartsWith("virConnectOpen", e.Message);
    }

    [Fact]
    public void Unknown_driver_gives_LibvirtException()
    {
        var e = Assert.Throws<LibvirtException>(() => LibvirtConnection.Open("nosuchdriver:///nothing"));
        Assert.NotEqual(0, e.Code);
        Assert.False(string.IsNullOrWhiteSpace(e.Message));
    }

    [Fact]
    public void Lookup_of_a_missing_domain_is_null()
    {
        using var conn = LibvirtConnection.Open(Uri);
        Assert.Null(conn.LookupDomain("sandbox-test-missing-" + Guid.NewGuid().ToString("N")[..8]));
    }

    [Fact]
    public void Creates_inspects_and_destroys_a_transient_domain()
    {
        var name = "sandbox-test-" + Guid.NewGuid().ToString("N")[..12];
        // No disk and no kernel: the firmware finds nothing to boot and idles, which is all this test needs.
        var xml = $"""
            <domain type='qemu'>
              <name>{name}</name>
              <memory unit='MiB'>16</memory>
              <vcpu>1</vcpu>
              <os><type arch='x86_64' machine='pc'>hvm</type></os>
              <devices>
                <controller type='usb' model='none'/>
                <memballoon model='none'/>
              </devices>
            </domain>
            """;
        using var conn = LibvirtConnection.Open(Uri);
        using (var domain = conn.CreateDomain(xml, DomainCreateFlags.AutoDestroy))
        {
            try
            {
                Assert.Equal(name, domain.Name);
                Assert.Equal(DomainState.Running, domain.GetState().State);
                var info = domain.GetInfo();
                Assert.Equal(16L << 20, info.MaxMemoryBytes);
                Assert.Equal(1, info.VirtualCpus);
                Assert.Contains($"<name>{name}</name>", domain.GetXml());
                Assert.Contains(conn.ListAllDomains(), d => { using (d) return d.Name == name; });
                Assert.True(domain.GetMemoryStats()[DomainMemoryStat.Rss] > 0);
                Assert.Null(domain.GetMetadata("https://example.invalid/none"));
            }
            finally
            {
                Assert.True(domain.Destroy());
            }
            Assert.False(domain.Destroy());
        }
        Assert.Null(conn.LookupDomain(name));
        File.Delete($"/var/log/libvirt/qemu/{name}.log"); // libvirt keeps qemu's log per domain name
    }

    [Fact]
    public void Invalid_xml_gives_LibvirtException()
    {
        using var conn = LibvirtConnection.Open(Uri);
        var e = Assert.Throws<LibvirtException>(() => conn.CreateDomain("<domain type='qemu'><name>x</name>", DomainCreateFlags.AutoDestroy));
        Assert.StartsWith("virDomainCreateXML", e.Message);
    }
}
