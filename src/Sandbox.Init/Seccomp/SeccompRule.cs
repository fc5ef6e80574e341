namespace Sandbox.Init.Seccomp;

public enum SeccompAction { Allow, Errno, KillProcess, KillThread, Trap, Log }

public enum SeccompOp { Eq, Ne, Lt, Le, Gt, Ge, MaskedEq }

/// <summary>A condition on one argument of the call (unsigned 64-bit comparisons, as libseccomp's).</summary>
/// <param name="Value">The operand; for <see cref="SeccompOp.MaskedEq"/> the mask.</param>
/// <param name="ValueTwo">For <see cref="SeccompOp.MaskedEq"/>: what the masked argument must equal.</param>
public readonly record struct SeccompArg(int Index, ulong Value, ulong ValueTwo, SeccompOp Op);

/// <summary>
/// One entry of a docker-format seccomp profile: the calls it names get <see cref="Action"/> when every argument
/// condition holds, when the sandbox has all <see cref="IncludeCaps"/> and none of <see cref="ExcludeCaps"/>, the
/// architecture is (not) listed and the kernel is at least <see cref="MinKernel"/>.
/// </summary>
public sealed record SeccompRule(
    string[] Names,
    SeccompAction Action,
    int Errno = 0,
    SeccompArg[]? Args = null,
    string[]? IncludeCaps = null,
    string[]? IncludeArches = null,
    string? MinKernel = null,
    string[]? ExcludeCaps = null,
    string[]? ExcludeArches = null)
{
    public bool AppliesTo(SeccompArch arch, ISet<string> caps, Version kernel)
    {
        if (IncludeCaps is { Length: > 0 } && !IncludeCaps.All(caps.Contains)) return false;
        if (ExcludeCaps is { Length: > 0 } && ExcludeCaps.Any(caps.Contains)) return false;
        if (IncludeArches is { Length: > 0 } && !IncludeArches.Contains(arch.DockerName)) return false;
        if (ExcludeArches is { Length: > 0 } && ExcludeArches.Contains(arch.DockerName)) return false;
        if (MinKernel is string min && kernel < Version.Parse(min)) return false;
        return true;
    }
}

/// <summary>An architecture a filter on x86-64 must handle: the native one, the x32 ABI and i386 (int 0x80).</summary>
public sealed record SeccompArch(string Name, string DockerName, uint AuditArch)
{
    public const uint X32SyscallBit = 0x40000000;
    public static readonly SeccompArch X86_64 = new("x86_64", "amd64", 0xC000003E);
    public static readonly SeccompArch X32 = new("x32", "x32", 0xC000003E);
    public static readonly SeccompArch I386 = new("i386", "x86", 0x40000003);
    public static readonly SeccompArch[] All = [X86_64, X32, I386];
}
