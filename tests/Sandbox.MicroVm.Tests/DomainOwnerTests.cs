using Sandbox.Core;
using Xunit;

namespace Sandbox.MicroVm.Tests;

/// <summary>The owner metadata a domain carries: written, read back, and older metadata without a store root.</summary>
public sealed class DomainOwnerTests
{
    [Fact]
    public void Owner_metadata_round_trips_with_the_store_root()
    {
        var owner = DomainOwner.Current(new SandboxPaths("/tmp/a store/with 'quotes' & <angles>"));
        var back = DomainOwner.Parse(owner.ToXml());
        Assert.Equal(owner, back);
        Assert.Equal("/tmp/a store/with 'quotes' & <angles>", back!.Root);
        Assert.True(back.IsAlive());
    }

    [Fact]
    public void Metadata_without_a_root_parses_with_none()
    {
        var old = $"<sandbox:owner xmlns:sandbox='{DomainOwner.Namespace}' pid='1' start='5' boot='x'/>";
        Assert.Equal(new DomainOwner(1, 5, "x", null), DomainOwner.Parse(old));
        Assert.False(DomainOwner.Parse(old)!.IsAlive());
    }
}
