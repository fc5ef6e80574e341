namespace Sandbox.Init.Seccomp;

/// <summary>System call numbers per architecture (generated from the kernel's headers: SyscallTable.g.cs).</summary>
public static partial class SyscallTable
{
    public static IReadOnlyDictionary<string, uint> For(SeccompArch arch) =>
        arch == SeccompArch.X86_64 ? X86_64Numbers : arch == SeccompArch.X32 ? X32Numbers : I386Numbers;
}
