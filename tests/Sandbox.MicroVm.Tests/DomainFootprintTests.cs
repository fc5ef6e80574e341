using System.Xml.Linq;
using Sandbox.Core;
using Xunit;

namespace Sandbox.MicroVm.Tests;

/// <summary>
/// The footprint levers in the domain XML (docs/microvm.md, "Idle footprint by mapping"): a bounded TCG translation
/// cache for TCG guests only, and no balloon unless free page reporting is asked for.
/// </summary>
public sealed class DomainFootprintTests
{
    private static DomainDefinition Definition(Accelerator accelerator) => new()
    {
        Name = "sandbox-x",
        Owner = new DomainOwner(1, 2, "boot", "/r"),
        Accelerator = accelerator,
        MemoryMiB = 128,
        Cpus = 1,
        KernelPath = "/k",
        InitramfsPath = "/i",
        RootDiskPath = null,
        ChannelSocketPath = "/c",
        ConsoleLogPath = "/l",
    };

    [Fact]
    public void A_tcg_guest_gets_a_bounded_translation_cache_and_a_kvm_guest_none()
    {
        var tcg = XDocument.Parse((Definition(Accelerator.Tcg) with { TranslationCacheMiB = 16 }).ToXml());
        var cache = Assert.Single(tcg.Descendants("tb-cache"));
        Assert.Equal(("16", "MiB"), (cache.Value, cache.Attribute("unit")!.Value));
        Assert.Equal("tcg", cache.Parent!.Name.LocalName);
        Assert.Equal("features", cache.Parent.Parent!.Name.LocalName);

        var kvm = XDocument.Parse((Definition(Accelerator.Kvm) with { TranslationCacheMiB = 16 }).ToXml());
        Assert.Empty(kvm.Descendants("tb-cache"));
        Assert.Empty(kvm.Descendants("features"));

        var unbounded = XDocument.Parse((Definition(Accelerator.Tcg) with { TranslationCacheMiB = null }).ToXml());
        Assert.Empty(unbounded.Descendants("tb-cache"));
    }

    [Fact]
    public void The_balloon_is_there_only_for_free_page_reporting_on_virtio_mmio()
    {
        var off = XDocument.Parse((Definition(Accelerator.Tcg) with { FreePageReporting = false }).ToXml());
        Assert.Equal("none", Assert.Single(off.Descendants("memballoon")).Attribute("model")!.Value);

        var on = Assert.Single(XDocument.Parse((Definition(Accelerator.Tcg) with { FreePageReporting = true }).ToXml()).Descendants("memballoon"));
        Assert.Equal(("virtio", "on"), (on.Attribute("model")!.Value, on.Attribute("freePageReporting")!.Value));
        Assert.Equal("virtio-mmio", on.Element("address")!.Attribute("type")!.Value);
    }
}
