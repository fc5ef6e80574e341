using Sandbox.Core;
using Xunit;

namespace Sandbox.MicroVm.Tests;

/// <summary>
/// How an OCI bundle's rootfs and host bind mounts become virtio-9p shares of a guest (docs/oci-runtime.md, "Micro-VM
/// mode"): no guest is booted here (PodmanVmTests in Sandbox.Oci.Tests boot them); the plan and the domain XML.
/// </summary>
public sealed class BundleShareTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sandbox-vm-shares-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Binds_become_shares_and_their_sources_the_guest_paths()
    {
        var rootfs = Directory.CreateDirectory(Path.Combine(_dir, "rootfs")).FullName;
        var data = Directory.CreateDirectory(Path.Combine(_dir, "data")).FullName;
        var userdata = Directory.CreateDirectory(Path.Combine(_dir, "userdata")).FullName;
        File.WriteAllText(Path.Combine(userdata, "hosts"), "");
        File.WriteAllText(Path.Combine(userdata, "resolv.conf"), "");
        var bundle = new BundleSpec
        {
            RootfsPath = rootfs,
            Mounts =
            [
                new("/proc", "proc", "proc", []),
                new("/data", "bind", data, ["rbind", "rw"]),
                new("/etc/hosts", "bind", Path.Combine(userdata, "hosts"), ["bind", "ro"]),
                new("/etc/resolv.conf", "bind", Path.Combine(userdata, "resolv.conf"), ["bind", "ro"]),
                new("/dev/fuse", "bind", "/dev/null", ["bind"]),
            ],
        };

        var plan = MicroVmRuntime.PlanBundle(bundle);

        // The root (writable: root.readonly is a remount after the mounts), the data dir, and userdata once (read-only).
        Assert.Equal(
            [(MicroVmRuntime.RootShareTag, rootfs, false), ("sandbox-b0", data, false), ("sandbox-b1", userdata, true)],
            plan.Shares.Select(s => (s.Tag, s.HostPath, s.ReadOnly)).ToArray());
        Assert.True(plan.Mounts[0].IsRoot);
        Assert.Equal(["/sandbox/shares/sandbox-b0", "/sandbox/shares/sandbox-b1"], plan.Mounts.Skip(1).Select(m => m.Target).ToArray());
        Assert.Equal(
            ["proc", "/sandbox/shares/sandbox-b0", "/sandbox/shares/sandbox-b1/hosts", "/sandbox/shares/sandbox-b1/resolv.conf", "/dev/null"],
            plan.Bundle.Mounts.Select(m => m.Source).ToArray());
        // Options and destinations are the config's own.
        Assert.Equal(bundle.Mounts.Select(m => (m.Destination, string.Join(',', m.Options))),
            plan.Bundle.Mounts.Select(m => (m.Destination, string.Join(',', m.Options))));
    }

    [Fact]
    public void A_missing_bind_source_is_one_clear_error()
    {
        var bundle = new BundleSpec
        {
            RootfsPath = _dir,
            Mounts = [new("/x", "bind", Path.Combine(_dir, "gone"), ["bind"])],
        };
        var e = Assert.Throws<SandboxException>(() => MicroVmRuntime.PlanBundle(bundle));
        Assert.Contains("gone does not exist", e.Message);
    }

    [Fact]
    public void Shares_are_9p_passthrough_filesystems_in_the_domain()
    {
        var definition = new DomainDefinition
        {
            Name = "sandbox-x",
            Owner = DomainOwner.Current(new SandboxPaths(_dir)),
            Accelerator = Accelerator.Tcg,
            MemoryMiB = 128,
            Cpus = 1,
            KernelPath = "/k",
            InitramfsPath = "/i",
            RootDiskPath = null,
            ChannelSocketPath = "/c",
            ConsoleLogPath = "/l",
            Shares = [new GuestShare("sandbox-root", "/b/rootfs & <x>", false), new GuestShare("sandbox-b0", "/d", true)],
        };
        var xml = System.Xml.Linq.XDocument.Parse(definition.ToXml());
        var filesystems = xml.Descendants("filesystem").ToArray();
        Assert.Equal(2, filesystems.Length);
        Assert.All(filesystems, f => Assert.Equal("passthrough", f.Attribute("accessmode")!.Value));
        Assert.Equal("/b/rootfs & <x>", filesystems[0].Element("source")!.Attribute("dir")!.Value);
        Assert.Null(filesystems[0].Element("readonly"));
        Assert.NotNull(filesystems[1].Element("readonly"));
        Assert.Empty(xml.Descendants("disk"));
    }
}
