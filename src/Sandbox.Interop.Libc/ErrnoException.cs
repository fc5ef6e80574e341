using System.Runtime.InteropServices;

namespace Sandbox.Interop.Libc;

/// <summary>A failed system call: which call, on what, and the errno it returned.</summary>
public sealed class ErrnoException : Exception
{
    public ErrnoException(int errno, string call, string? subject = null)
        : base(Format(errno, call, subject))
    {
        Errno = errno;
        Call = call;
        Subject = subject;
    }

    public int Errno { get; }
    public string Call { get; }
    public string? Subject { get; }

    /// <summary>Throws for the errno of the last P/Invoke (declared with SetLastError = true).</summary>
    public static ErrnoException FromLastError(string call, string? subject = null) =>
        new(Marshal.GetLastPInvokeError(), call, subject);

    public static string Describe(int errno) => Marshal.GetPInvokeErrorMessage(errno);

    private static string Format(int errno, string call, string? subject) =>
        subject is null ? $"{call}: {Describe(errno)}" : $"{call} {subject}: {Describe(errno)}";
}
