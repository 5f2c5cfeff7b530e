fn main() {
    eprintln!("triton-fake: not implemented yet");
    std::process::exit(1);
}
