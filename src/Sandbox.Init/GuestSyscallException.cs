using System.Runtime.InteropServices;

namespace Sandbox.Init;

/// <summary>A failed system call during the guest boot: which call, on what, and the errno.</summary>
internal sealed class GuestSyscallException(int errno, string call, string subject)
    : Exception($"{call} {subject}: {Marshal.GetPInvokeErrorMessage(errno)}")
{
    public int Errno { get; } = errno;
}
